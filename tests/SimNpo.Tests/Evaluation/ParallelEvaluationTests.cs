using System.Text.Json;
using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Evaluation.Official;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// TOFU and MUSE evaluations split across ranks (threads of an InProcessGroup) give the report of one process, bit for
/// bit: each rank scores whole batches as one process forms them and generates whole items, and the aggregates are taken
/// over the gathered list in item order. Compared as their JSON (doubles written round-trip), on stories260K with batches
/// of 2 so that there are more batches than ranks, and with 3 ranks more ranks than some lists have items. open-unlearning's
/// MIA metrics are checked the same way, and each rank's forward passes are counted to show that it ran only its share.
/// </summary>
public class ParallelEvaluationTests : ConvertedStories260KTests
{
    /// <summary>The ranks' common result as JSON, and how many forward passes each rank ran.</summary>
    private sealed record RankRun(string Report, long[] ForwardPasses);

    /// <summary>Every rank's result of body(model, tokenizer, group), as JSON; the ranks must agree among themselves too.</summary>
    private RankRun OnRanks(int ranks, Func<LlamaModel<float>, ITextTokenizer, ICommunicator, object> body)
    {
        var reports = new string[ranks];
        var forwardPasses = new long[ranks];
        InProcessGroup.Run(ranks, group =>
        {
            // The timed ops count the rank's op calls: every forward pass calls Attention once per layer.
            var ops = new TimedOps<float>(new FastCpuOps());
            using var model = ModelFiles.Load(Model.Path, ops);
            reports[group.Rank] = JsonSerializer.Serialize(body(model, TokenizerLoader.Load(Model.Path, model.Config), group));
            forwardPasses[group.Rank] = ops.Totals().Where(t => t.Op == OpName.Attention).Sum(t => t.Calls) / model.Config.NumHiddenLayers;
        });
        Assert.That(reports.Distinct().Count(), Is.EqualTo(1), "every rank holds the same report");
        return new RankRun(reports[0], forwardPasses);
    }

    /// <summary>
    /// The forward passes rank r of N runs when it computes items r, r + N, ... of each pass list (one per batch or item)
    /// and nothing else: the split, not a rank that runs everything and keeps its share.
    /// </summary>
    private static long[] Shares(int ranks, int[] passLists) =>
        Enumerable.Range(0, ranks).Select(r => (long)passLists.Sum(count => (count - r + ranks - 1) / ranks)).ToArray();

    /// <summary>
    /// run(N)'s report on 2 and 3 ranks is run(1)'s, which names every one of names; given the pass lists, every rank ran
    /// exactly its share of the forward passes.
    /// </summary>
    private static void AssertTheSingleProcessResultOnTwoAndThreeRanks(Func<int, RankRun> run, string[] names, int[]? passes = null)
    {
        var single = run(1);
        foreach (var name in names) Assert.That(single.Report, Does.Contain($"\"{name}\""));
        if (passes is not null) Assert.That(single.ForwardPasses, Is.EqualTo(Shares(1, passes)));
        foreach (var ranks in new[] { 2, 3 })
        {
            var split = run(ranks);
            Assert.That(split.Report, Is.EqualTo(single.Report), $"{ranks} ranks");
            if (passes is not null) Assert.That(split.ForwardPasses, Is.EqualTo(Shares(ranks, passes)), $"{ranks} ranks");
        }
    }

    [Test]
    public void TofuGivesTheSingleProcessReportOnTwoAndThreeRanks()
    {
        var settings = new TofuSettings
        {
            DataDirectory = Path.GetDirectoryName(SharedFiles.Require("data/tofu/forget01_perturbed.jsonl"))!,
            ForgetSet = "forget01", MaxItems = 2, MaxNewTokens = 2, BatchSize = 2,
        };
        AssertTheSingleProcessResultOnTwoAndThreeRanks(ranks => OnRanks(ranks, (model, tokenizer, group) =>
            TofuEvaluation.Run(model, tokenizer, settings, group: group)), ["TruthRatio"]);
    }

    [Test]
    public void MuseGivesTheSingleProcessReportOnTwoAndThreeRanks()
    {
        using var data = new TempDirectory();
        var settings = MuseSettingsOver(data);
        AssertTheSingleProcessResultOnTwoAndThreeRanks(ranks => OnRanks(ranks, (model, tokenizer, group) =>
            MuseEvaluation.Run(model, tokenizer, settings, group: group)), ["Auc"]);
    }

    /// <summary>
    /// open-unlearning's metrics in a TOFU evaluation (TofuMia, what Evaluate adds to Extra) on 3 forget and 3 holdout items,
    /// gradient norms and a reference model included: every score, AUC and privleak the same bits on 2 and 3 ranks, and
    /// each rank runs only its share of the 14 forward passes (per set: 2 batches of statistics, 3 gradient norms, 2
    /// reference batches).
    /// </summary>
    [Test]
    public void TofuMiaGivesTheSingleProcessMetricsOnTwoAndThreeRanksEachRankRunningItsShare()
    {
        var settings = new TofuSettings
        {
            DataDirectory = Path.GetDirectoryName(SharedFiles.Require("data/tofu/holdout01.jsonl"))!,
            ForgetSet = "forget01", MaxItems = 3, BatchSize = 2, ReferenceModel = Model.Path,
        };
        AssertTheSingleProcessResultOnTwoAndThreeRanks(ranks => OnRanks(ranks, (model, tokenizer, group) =>
        {
            var metrics = TofuMia.Compute(model, tokenizer, settings, model.Ops, group: group);
            OpenUnlearningExtras.AddPrivLeak(metrics, retainMinKAuc: null);
            return metrics.ToJson();
        }), ["mia_loss", "mia_zlib", "mia_min_k", "mia_min_k_plus_plus", "mia_gradnorm", "mia_reference", "privleak"], passes: [2, 3, 2, 2, 3, 2]);
    }

    /// <summary>
    /// The same for a MUSE evaluation (MuseMia, mia_min_k included here): the memorisation metrics' 2 VerbMem batches, then
    /// per MIA set 2 batches, 3 gradient norms and 2 reference batches.
    /// </summary>
    [Test]
    public void MuseMiaGivesTheSingleProcessMetricsOnTwoAndThreeRanksEachRankRunningItsShare()
    {
        using var data = new TempDirectory();
        var settings = MuseSettingsOver(data);
        AssertTheSingleProcessResultOnTwoAndThreeRanks(ranks => OnRanks(ranks, (model, tokenizer, group) =>
                MuseMia.Compute(model, tokenizer, settings, model.Ops, new HashSet<string>(), group: group).ToJson()),
            ["exact_memorization", "extraction_strength", "mia_loss", "mia_zlib", "mia_min_k", "mia_min_k_plus_plus", "mia_gradnorm", "mia_reference"],
            passes: [2, 2, 3, 2, 2, 3, 2]);
    }

    /// <summary>
    /// Three VerbMem passages (also the MIA forget texts), three KnowMem questions and three holdout texts, scored in batches
    /// of 2, with the model itself as mia_reference's reference model.
    /// </summary>
    private MuseSettings MuseSettingsOver(TempDirectory data)
    {
        File.WriteAllText(data.File(MuseData.KnowMemExamplesFile), """[{"question": "Who was sad?", "answer": "Sue"}]""");
        File.WriteAllText(data.File(MuseData.VerbMemFile), """
            [{"prompt": "Once upon a time", "gt": " there was a girl"}, {"prompt": "Tom had a red ball", "gt": " and he liked it"},
             {"prompt": "The sun was hot", "gt": " so they went home"}]
            """);
        File.WriteAllText(data.File(MuseData.KnowMemFile), """
            [{"question": "Who had a ball?", "answer": "Tom"}, {"question": "What color was the ball?", "answer": "red"},
             {"question": "Where did they go?", "answer": "home"}]
            """);
        File.WriteAllText(data.File("holdout.json"), """["Lily saw a big dog in the park.", "The cat sat on the mat all day.", "Ben ate a cake."]""");
        return new MuseSettings
        {
            DataDirectory = data.Path, HoldoutPath = data.File("holdout.json"), VerbMemNewTokens = 3, KnowMemNewTokens = 2, BatchSize = 2,
            ReferenceModel = Model.Path,
        };
    }

    /// <summary>The training curve's evaluation (--eval-every) sums the gathered values in example order: the same mean for any N.</summary>
    [Test]
    public void TheMeanLogProbOfTrainingCurvesIsTheSameOnAnyNumberOfRanks()
    {
        var examples = Enumerable.Range(0, 5).Select(i => new TokenizedExample([1, 20 + i, 30], [40 + i, 50, 60 + i])).ToArray();
        string Mean(int ranks) => OnRanks(ranks, (model, _, group) => NormalisedLogProb.Mean(model, examples, batchSize: 2, maxLength: 16, group)).Report;
        Assert.That(Mean(2), Is.EqualTo(Mean(1)));
        Assert.That(Mean(3), Is.EqualTo(Mean(1)));
    }

    [Test]
    public void ItemsGoToRanksByIndexModuloTheirCountAndComeBackInOrder()
    {
        var computedBy = new int[7];
        var results = new string[3][];
        InProcessGroup.Run(3, group => results[group.Rank] = ParallelItems.Map(group, 7, i =>
        {
            computedBy[i] = group.Rank;
            return $"item {i}";
        }, ItemCodecs.Text));
        Assert.That(computedBy, Is.EqualTo(new[] { 0, 1, 2, 0, 1, 2, 0 }));
        foreach (var result in results) Assert.That(result, Is.EqualTo(Enumerable.Range(0, 7).Select(i => $"item {i}")));
    }
}
