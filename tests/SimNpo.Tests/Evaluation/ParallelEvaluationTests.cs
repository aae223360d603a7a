using System.Text.Json;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// TOFU and MUSE evaluations split across ranks (threads of an InProcessGroup) give the report of one process, bit for
/// bit: each rank scores whole batches as one process forms them and generates whole items, and the aggregates are taken
/// over the gathered list in item order. Compared as their JSON (doubles written round-trip), on stories260K with batches
/// of 2 so that there are more batches than ranks, and with 3 ranks more ranks than some lists have items.
/// </summary>
public class ParallelEvaluationTests : ConvertedStories260KTests
{
    /// <summary>Every rank's result of body(model, tokenizer, group), as JSON; the ranks must agree among themselves too.</summary>
    private string OnRanks(int ranks, Func<LlamaModel<float>, ITextTokenizer, ICommunicator, object> body)
    {
        var reports = new string[ranks];
        InProcessGroup.Run(ranks, group =>
        {
            using var model = ModelFiles.Load(Model.Path, new FastCpuOps());
            reports[group.Rank] = JsonSerializer.Serialize(body(model, TokenizerLoader.Load(Model.Path, model.Config), group));
        });
        Assert.That(reports.Distinct().Count(), Is.EqualTo(1), "every rank holds the same report");
        return reports[0];
    }

    [Test]
    public void TofuGivesTheSingleProcessReportOnTwoAndThreeRanks()
    {
        var settings = new TofuSettings
        {
            DataDirectory = Path.GetDirectoryName(SharedFiles.Require("data/tofu/forget01_perturbed.jsonl"))!,
            ForgetSet = "forget01", MaxItems = 2, MaxNewTokens = 2, BatchSize = 2,
        };
        string Report(int ranks) => OnRanks(ranks, (model, tokenizer, group) => TofuEvaluation.Run(model, tokenizer, settings, group: group));
        var single = Report(1);
        Assert.That(single, Does.Contain("\"TruthRatio\""));
        Assert.That(Report(2), Is.EqualTo(single));
        Assert.That(Report(3), Is.EqualTo(single));
    }

    [Test]
    public void MuseGivesTheSingleProcessReportOnTwoAndThreeRanks()
    {
        using var data = new TempDirectory();
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
        var settings = new MuseSettings
        {
            DataDirectory = data.Path, HoldoutPath = data.File("holdout.json"), VerbMemNewTokens = 3, KnowMemNewTokens = 2, BatchSize = 2,
        };
        string Report(int ranks) => OnRanks(ranks, (model, tokenizer, group) => MuseEvaluation.Run(model, tokenizer, settings, group: group));
        var single = Report(1);
        Assert.That(single, Does.Contain("\"Auc\""));
        Assert.That(Report(2), Is.EqualTo(single));
        Assert.That(Report(3), Is.EqualTo(single));
    }

    /// <summary>The training curve's evaluation (--eval-every) sums the gathered values in example order: the same mean for any N.</summary>
    [Test]
    public void TheMeanLogProbOfTrainingCurvesIsTheSameOnAnyNumberOfRanks()
    {
        var examples = Enumerable.Range(0, 5).Select(i => new TokenizedExample([1, 20 + i, 30], [40 + i, 50, 60 + i])).ToArray();
        string Mean(int ranks) => OnRanks(ranks, (model, _, group) => NormalisedLogProb.Mean(model, examples, batchSize: 2, maxLength: 16, group));
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
