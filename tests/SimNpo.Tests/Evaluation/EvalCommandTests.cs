using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// `simnpo eval tofu` and `eval muse` end to end on the converted stories260K and a few benchmark items. The model
/// knows nothing of TOFU or Alice, so the numbers are meaningless; the plumbing, the report and the arithmetic
/// linking its per-item values to its aggregates are not.
/// </summary>
public class EvalCommandTests
{
    private TempDirectory _model = null!;
    private TempDirectory _work = null!;
    private string _tofu = null!;

    [OneTimeSetUp]
    public void ConvertStories260K()
    {
        _model = new TempDirectory();
        Stories260K.ConvertInto(_model);
        _work = new TempDirectory();
        _tofu = Path.GetDirectoryName(SharedFiles.Require("data/tofu/forget01_perturbed.jsonl"))!;
    }

    /// <summary>Also after a setup stopped by a missing shared file (the fixture is then ignored, or fails under CI=true).</summary>
    [OneTimeTearDown]
    public void Clean()
    {
        _model?.Dispose();
        _work?.Dispose();
    }

    private static JsonNode Read(string path) => JsonNode.Parse(File.ReadAllText(path))!;

    /// <summary>
    /// The summary without open-unlearning's memorisation and MIA metrics (but those in keep), which need the model:
    /// report.json keeps only their summary values, so an aggregation from it (--from-logs) has the rest.
    /// </summary>
    private static JsonObject WithoutModelMetrics(JsonObject summary, string[] keep) => new(summary
        .Where(p => keep.Contains(p.Key)
            || !(p.Key is "exact_memorization" or "extraction_strength" or "privleak" || p.Key.StartsWith("mia_", StringComparison.Ordinal)))
        .Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));

    private (int Code, string Output, string Error) EvalTofu(string output, int maxItems, params string[] extra) =>
        Simnpo.Run(["eval", "tofu", "--model", _model.Path, "--data-dir", _tofu, "--forget", "forget01", "--max-items", $"{maxItems}", "--max-new-tokens", "6",
            "--out", output, .. extra]);

    /// <summary>
    /// Against itself as the retain model, the forget truth ratios are identical, so KS gives D = 0 and forget quality
    /// exactly 1; the retain report saved on the way gives the same through --retain-results. Aggregates are recomputed
    /// from the per-item values in the JSON (tolerance 1e-12: the same double sums in another order).
    /// </summary>
    [Test]
    public void TofuReportHoldsEveryItemAndAggregate()
    {
        var output = Path.Combine(_work.Path, "self", "report.json");
        var run = EvalTofu(output, 3, "--retain-model", _model.Path);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        Assert.That(run.Output, Does.Contain("forget quality 1"));
        var report = Read(output);
        Assert.That(report["model_sha256"]!.GetValue<string>(), Is.EqualTo(ModelFingerprint.Sha256(_model.Path)).And.Length.EqualTo(64));
        Assert.That(report["device"]!.GetValue<string>(), Does.StartWith("cpu ("));
        Assert.That(report["config"]!["max_items"]!.GetValue<int>(), Is.EqualTo(3));
        Assert.That(report["forget_quality"]!.GetValue<double>(), Is.EqualTo(1));

        var splits = report["splits"]!.AsArray();
        Assert.That(splits.Select(s => s!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "retain", "real_authors", "world_facts", "forget" }));
        var parts = new List<double>();
        foreach (var split in splits)
        {
            var name = split!["name"]!.GetValue<string>();
            var items = split["items"]!.AsArray();
            Assert.That(items, Has.Count.EqualTo(3));
            foreach (var item in items)
            {
                var losses = item!["perturbed_losses"]!.AsArray().Select(l => l!.GetValue<double>()).ToArray();
                Assert.That(losses, Has.Length.EqualTo(name is "real_authors" or "world_facts" ? 3 : 5));
                var answerLoss = item["answer_loss"]!.GetValue<double>();
                var baseLoss = item["base_loss"]!.GetValue<double>();
                var prob = name is "real_authors" or "world_facts"
                    ? Math.Exp(-answerLoss) / (Math.Exp(-answerLoss) + losses.Sum(l => Math.Exp(-l)))
                    : Math.Exp(-answerLoss);
                Assert.That(item["prob"]!.GetValue<double>(), Is.EqualTo(prob).Within(1e-12));
                Assert.That(item["truth_ratio"]!.GetValue<double>(), Is.EqualTo(Math.Exp(losses.Average() - baseLoss)).Within(1e-12));
                if (name is "real_authors" or "world_facts") Assert.That(baseLoss, Is.EqualTo(answerLoss), "the answer stands in for the missing paraphrase");
                else Assert.That(baseLoss, Is.Not.EqualTo(answerLoss));
                Assert.That(item["rouge_l_recall"]!.GetValue<double>(),
                    Is.EqualTo(RougeL.Score(item["generation"]!.GetValue<string>(), item["answer"]!.GetValue<string>(), useStemmer: true).Recall));
            }
            double Mean(string key) => items.Average(i => i![key]!.GetValue<double>());
            var ratios = items.Select(i => i!["truth_ratio"]!.GetValue<double>()).ToArray();
            Assert.That(split["prob"]!.GetValue<double>(), Is.EqualTo(Mean("prob")).Within(1e-12));
            Assert.That(split["rouge_l_recall"]!.GetValue<double>(), Is.EqualTo(Mean("rouge_l_recall")).Within(1e-12));
            Assert.That(split["truth_ratio"]!.GetValue<double>(), Is.EqualTo(name == "forget"
                ? ratios.Average(r => Math.Min(r, 1 / r))
                : ratios.Average(r => Math.Max(0, 1 - 1 / r))).Within(1e-12));
            if (name != "forget") parts.AddRange(new[] { "prob", "rouge_l_recall", "truth_ratio" }.Select(key => split[key]!.GetValue<double>()));
        }
        Assert.That(report["model_utility"]!.GetValue<double>(), Is.EqualTo(parts.Contains(0) ? 0 : 9 / parts.Sum(p => 1 / p)).Within(1e-12));
        Assert.That(File.ReadAllText(Path.ChangeExtension(output, ".md")),
            Does.Contain("| forget |").And.Contain("**Model utility**").And.Contain("**Forget quality**"));

        // open-unlearning's layout beside it: the same per-split numbers under its names (its truth ratios and the
        // normalised Prob carry 1e-10 guards, so only the unguarded ones are compared exactly).
        var summary = report["summary"]!.AsObject();
        Assert.That(summary["retain_Q_A_ROUGE"]!.GetValue<double>(), Is.EqualTo(splits[0]!["rouge_l_recall"]!.GetValue<double>()).Within(1e-15));
        Assert.That(summary["forget_Q_A_Prob"]!.GetValue<double>(), Is.EqualTo(splits[3]!["prob"]!.GetValue<double>()).Within(1e-15));
        Assert.That(summary["forget_quality"]!.GetValue<double>(), Is.EqualTo(1));
        var folder = Path.GetDirectoryName(output)!;
        Assert.That(Read(Path.Combine(folder, "TOFU_SUMMARY.json")).ToJsonString(), Is.EqualTo(summary.ToJsonString()));
        var eval = Read(Path.Combine(folder, "TOFU_EVAL.json"));
        var forgetItem = eval["forget_Q_A_ROUGE"]!["value_by_index"]!["2"]!;
        Assert.That(forgetItem["rougeL_recall"]!.GetValue<double>(), Is.EqualTo(splits[3]!["items"]![2]!["rouge_l_recall"]!.GetValue<double>()));
        Assert.That(forgetItem["generation"]!.GetValue<string>(), Is.EqualTo(splits[3]!["items"]![2]!["generation"]!.GetValue<string>()));
        Assert.That(eval["wf_Q_A_PERT_Prob"]!["value_by_index"]!["0"]!["avg_loss"]!.AsArray(), Has.Count.EqualTo(3));

        // The retain model's report, reused: same forget quality, and the same numbers for the same model (evaluation is deterministic).
        var retainResults = Path.ChangeExtension(output, ".retain.json");
        var reused = EvalTofu(Path.Combine(_work.Path, "reused.json"), 3, "--retain-results", retainResults);
        Assert.That(reused.Code, Is.EqualTo(CommandRunner.Success), reused.Error);
        var second = Read(Path.Combine(_work.Path, "reused.json"));
        Assert.That(second["forget_quality"]!.GetValue<double>(), Is.EqualTo(1));
        Assert.That(second["retain_reference"]!.GetValue<string>(), Is.EqualTo(retainResults));
        Assert.That(second["splits"]!.ToJsonString(), Is.EqualTo(report["splits"]!.ToJsonString()));

        // The report aggregated again without the model, against the retain report: the same summary to the last bit.
        var again = Simnpo.Run("eval", "tofu", "--from-logs", output, "--retain-results", retainResults, "--out", Path.Combine(_work.Path, "again", "report.json"));
        Assert.That(again.Code, Is.EqualTo(CommandRunner.Success), again.Error);
        Assert.That(summary.Select(p => p.Key), Is.SupersetOf(new[] { "exact_memorization", "extraction_strength", "mia_min_k", "mia_gradnorm", "privleak" }));
        Assert.That(Read(Path.Combine(_work.Path, "again", "report.json"))["summary"]!.ToJsonString(),
            Is.EqualTo(WithoutModelMetrics(summary, keep: []).ToJsonString()));
    }

    [Test]
    public void WithoutRetainResultsForgetQualityIsOmitted()
    {
        var output = Path.Combine(_work.Path, "alone.json");
        var run = EvalTofu(output, 1);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        Assert.That(Read(output)["forget_quality"], Is.Null);
        Assert.That(File.ReadAllText(Path.ChangeExtension(output, ".md")), Does.Contain("not computed"));

        // Results of another forget set are refused: they would compare different questions.
        var mismatched = EvalTofu(Path.Combine(_work.Path, "other.json"), 2, "--retain-results", output);
        Assert.That(mismatched.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(mismatched.Error, Does.Contain(output).And.Contain("the retain log's forget split has 1 items, the evaluation in").And.Contain("has 2"));
    }

    /// <summary>
    /// open-unlearning's retain99 log as --retain-results: a forget05 evaluation is refused before it runs (the log's 40
    /// items are forget01), a 3-item forget01 evaluation once its count is known; --from-logs options alone are usage errors.
    /// </summary>
    [Test]
    public void OfficialRetainLogsMustMatchTheEvaluation()
    {
        var retain = Path.Combine(SharedFiles.Require("data/reference-logs/open-unlearning/tofu_Llama-2-7b-chat-hf_retain99"), "TOFU_EVAL.json");
        var output = Path.Combine(_work.Path, "official-retain.json");
        var otherSet = Simnpo.Run("eval", "tofu", "--model", _model.Path, "--data-dir", _tofu, "--forget", "forget05", "--out", output, "--retain-results", retain);
        Assert.That(otherSet.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(otherSet.Error, Does.Contain($"{retain}: the retain log is for forget set 'forget01' (40 items), the evaluation in {_tofu} for 'forget05'"));
        var fewer = EvalTofu(output, 3, "--retain-results", retain);
        Assert.That(fewer.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(fewer.Error, Does.Contain($"{retain}: the retain log's forget split has 40 items (forget01), the evaluation in {output} has 3"));
        Assert.That(EvalTofu(output, 3, "--rescore").Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(EvalTofu(output, 3, "--truth-ratio-mean", "arithmetic").Code, Is.EqualTo(CommandRunner.Usage));
    }

    [Test]
    public void ABrokenSplitFailsWithItsFileAndLine()
    {
        using var data = new TempDirectory();
        foreach (var split in TofuSplit.All("forget01"))
            File.WriteAllLines(data.File(split.FileName), File.ReadLines(Path.Combine(_tofu, split.FileName)).Take(3));
        var lines = File.ReadAllLines(data.File("world_facts_perturbed.jsonl"));
        lines[1] = lines[1].Replace("\"perturbed_answer\": [", "\"perturbed_answer\": [\"one more\", ");
        File.WriteAllLines(data.File("world_facts_perturbed.jsonl"), lines);
        var run = Simnpo.Run("eval", "tofu", "--model", _model.Path, "--data-dir", data.Path, "--forget", "forget01", "--out", data.File("report.json"));
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(run.Error.Trim(), Is.EqualTo($"error: {data.File("world_facts_perturbed.jsonl")}, line 2: 4 perturbed answers, where line 1 has 3"));
        Assert.That(File.Exists(data.File("report.json")), Is.False);
    }

    /// <summary>
    /// MUSE on two Alice passages and three questions, with two holdout texts and a given retrained AUC of 0.5:
    /// PrivLeak = (AUC − 0.5)/0.5 × 100 from the AUC in the report (tolerance 1e-12, one division of doubles). As in
    /// muse_bench, each VerbMem reference is the continuation cut to as many tokens as are generated, BOS counted among
    /// them (here 8: BOS and 7 text tokens), and ROUGE-L F1 is taken without stemming.
    /// </summary>
    [Test]
    public void MuseReportsVerbMemKnowMemAndPrivLeak()
    {
        using var data = new TempDirectory();
        var alice = Path.GetDirectoryName(SharedFiles.Require("data/muse-alice/verbmem.json"))!;
        void Take(string name, int count) =>
            File.WriteAllText(data.File(name),
                new JsonArray(JsonNode.Parse(File.ReadAllText(Path.Combine(alice,
                name)))!.AsArray().Take(count).Select(n => n!.DeepClone()).ToArray()).ToJsonString());
        Take(MuseData.KnowMemFile, 3);
        // Two passages, shortened to keep the test fast (a full one fills the model's 512-token context).
        var passages = MuseData.ReadVerbMem(Path.Combine(alice, MuseData.VerbMemFile)).Take(2).Select(p => p with
        {
            Prompt = p.Prompt[..300], Continuation = p.Continuation[..200],
        }).ToArray();
        File.WriteAllText(data.File(MuseData.VerbMemFile), new JsonArray(passages
            .Select(p => (JsonNode)new JsonObject { ["prompt"] = p.Prompt, ["gt"] = p.Continuation }).ToArray()).ToJsonString());
        Take(MuseData.KnowMemExamplesFile, 5);
        File.WriteAllText(data.File("holdout.json"),
            """["Once upon a time there was a little dog named Spot.", "Lily wanted to swim in the big blue lake with her mom."]""");

        var output = data.File("muse.json");
        var run = Simnpo.Run("eval", "muse", "--model", _model.Path, "--data", data.Path, "--holdout", data.File("holdout.json"), "--retrain-auc", "0.5",
            "--verbmem-new-tokens", "8", "--knowmem-new-tokens", "6", "--out", output);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        var report = Read(output);
        var verbMem = report["verb_mem_items"]!.AsArray();
        Assert.That(verbMem, Has.Count.EqualTo(2));
        var tokenizer = TokenizerLoader.Load(_model.Path, ModelFiles.LoadConfig(_model.Path));
        for (var i = 0; i < passages.Length; i++)
        {
            var reference = verbMem[i]!["reference"]!.GetValue<string>();
            Assert.That(reference, Is.EqualTo(tokenizer.Decode(tokenizer.Encode(passages[i].Continuation).Take(7))));
            Assert.That(reference.Length, Is.LessThan(passages[i].Continuation.Length / 2));
        }
        Assert.That(report["verb_mem"]!.GetValue<double>(), Is.EqualTo(verbMem.Average(i => i!["rouge_l_f1"]!.GetValue<double>())).Within(1e-12));
        foreach (var item in verbMem.Concat(report["know_mem_forget_items"]!.AsArray()))
            Assert.That(item!["rouge_l_f1"]!.GetValue<double>(),
                Is.EqualTo(100 * RougeL.Score(item["generation"]!.GetValue<string>(), item["reference"]!.GetValue<string>(), useStemmer: false).F1)
                    .Within(1e-12));
        Assert.That(report["know_mem_forget_items"]!.AsArray(), Has.Count.EqualTo(3));
        var auc = report["min_k"]!["auc"]!.GetValue<double>();
        Assert.That(report["min_k"]!["forget"]!.AsArray(), Has.Count.EqualTo(2));
        Assert.That(report["priv_leak"]!["value"]!.GetValue<double>(), Is.EqualTo((auc - 0.5) / 0.5 * 100).Within(1e-12));
        Assert.That(report["priv_leak"]!["convention"]!.GetValue<string>(), Does.Contain("holdout texts are the positive class"));
        Assert.That(File.ReadAllText(Path.ChangeExtension(output, ".md")), Does.Contain("holdout texts are the positive class"));
        Assert.That(report["not_computed"]!.AsArray().Single()!.GetValue<string>(), Does.StartWith("KnowMem on retain QA"));

        // The MUSE-format set has no holdout texts: PrivLeak is named as not computed, the rest is there.
        var noHoldout = Simnpo.Run("eval", "muse", "--model", _model.Path, "--data", data.Path, "--verbmem-new-tokens", "2", "--knowmem-new-tokens", "2",
            "--out", output);
        Assert.That(noHoldout.Code, Is.EqualTo(CommandRunner.Success), noHoldout.Error);
        Assert.That(noHoldout.Output, Does.Contain("not computed: PrivLeak: no holdout texts"));
        Assert.That(Read(output)["priv_leak"], Is.Null);
    }

    /// <summary>
    /// --privleak-dir reads MUSE's own PrivLeak texts (privleak/forget.json and holdout.json, as muse_bench does) instead
    /// of the VerbMem passages; the model measured against itself as the retrained model has PrivLeak exactly 0.
    /// </summary>
    [Test]
    public void MuseReadsItsOwnPrivLeakFiles()
    {
        using var data = new TempDirectory();
        var alice = Path.GetDirectoryName(SharedFiles.Require("data/muse-alice/verbmem.json"))!;
        File.WriteAllText(data.File(MuseData.VerbMemFile), """[{"prompt": "Alice was beginning", "gt": " to get very tired"}]""");
        File.Copy(Path.Combine(alice, MuseData.KnowMemExamplesFile), data.File(MuseData.KnowMemExamplesFile));
        File.WriteAllText(data.File(MuseData.KnowMemFile), """[{"question": "Who fell down the rabbit hole?", "answer": "Alice"}]""");
        var privleak = Directory.CreateDirectory(data.File("privleak")).FullName;
        // A story-like and a news-like text on each side, so that the AUC is neither 0 nor 1 (PrivLeak divides by it).
        File.WriteAllText(Path.Combine(privleak, "forget.json"),
            """["Once upon a time there was a girl.", "Quarterly revenue rose by four percent.", "The sun was hot."]""");
        File.WriteAllText(Path.Combine(privleak, "holdout.json"), """["Tim had a red ball.", "The committee adjourned."]""");

        var output = data.File("muse.json");
        var run = Simnpo.Run("eval", "muse", "--model", _model.Path, "--data", data.Path, "--privleak-dir", privleak, "--retrain-model", _model.Path,
            "--verbmem-new-tokens", "2", "--knowmem-new-tokens", "2", "--out", output);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        var report = Read(output);
        Assert.That(report["min_k"]!["forget"]!.AsArray(), Has.Count.EqualTo(3));
        Assert.That(report["min_k"]!["holdout"]!.AsArray(), Has.Count.EqualTo(2));
        Assert.That(report["min_k"]!["auc"]!.GetValue<double>(), Is.GreaterThan(0).And.LessThan(1));
        Assert.That(report["priv_leak"]!["value"]!.GetValue<double>(), Is.EqualTo(0));

        var both = Simnpo.Run("eval", "muse", "--model", _model.Path, "--data", data.Path, "--privleak-dir", privleak, "--holdout",
            Path.Combine(privleak, "holdout.json"), "--out", output);
        Assert.That(both.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(both.Error, Does.Contain("either --holdout or --privleak-dir"));
        var missing = Simnpo.Run("eval", "muse", "--model", _model.Path, "--data", data.Path, "--privleak-dir", data.Path, "--out", output);
        Assert.That(missing.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(missing.Error, Does.Contain(Path.Combine(data.Path, "forget.json")).And.Contain("file not found"));
    }

    /// <summary>MUSE-News's released layout in small: 2 records of each VerbMem and KnowMem file, privLeakTexts texts, texts shortened.</summary>
    private static void ReleasedLayout(TempDirectory data, int characters, int privLeakTexts)
    {
        var news = Path.GetDirectoryName(Path.GetDirectoryName(SharedFiles.Require("data/muse-news/verbmem/forget.json")))!;
        void Take(string file, int count, Func<JsonNode, JsonNode> shorten)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(data.File(file))!);
            File.WriteAllText(data.File(file), new JsonArray(JsonNode.Parse(File.ReadAllText(Path.Combine(news, file)))!.AsArray().Take(count)
                .Select(n => shorten(n!.DeepClone())).ToArray()).ToJsonString());
        }
        JsonNode Shorten(JsonNode text) => text.GetValue<string>()[..characters];
        Take("verbmem/forget.json", 2, p => new JsonObject { ["prompt"] = Shorten(p["prompt"]!), ["gt"] = Shorten(p["gt"]!) });
        foreach (var file in new[] { "knowmem/forget_qa.json", "knowmem/retain_qa.json", "knowmem/forget_qa_icl.json", "knowmem/retain_qa_icl.json" })
            Take(file, 2, qa => qa);
        Take("privleak/forget.json", privLeakTexts, Shorten);
        Take("privleak/holdout.json", privLeakTexts, Shorten);
    }

    /// <summary>
    /// MUSE's released layout (../shared/data/muse-news, a few records of each file, texts shortened): VerbMem, KnowMem
    /// on forget and retain QA with their own examples, and PrivLeak on privleak/forget.json against holdout.json, all
    /// without options; against MUSE-News's published retrained AUC, PrivLeak = (AUC − 0.4772)/0.4772 × 100.
    /// </summary>
    [Test]
    public void MuseReadsTheReleasedLayout()
    {
        using var data = new TempDirectory();
        ReleasedLayout(data, characters: 200, privLeakTexts: 3);

        var output = data.File("muse.json");
        var run = Simnpo.Run("eval", "muse", "--model", _model.Path, "--data", data.Path, "--retrain-auc", "0.4772",
            "--verbmem-new-tokens", "2", "--knowmem-new-tokens", "2", "--out", output);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        var report = Read(output);
        Assert.That(report["not_computed"]!.AsArray(), Is.Empty);
        Assert.That(report["verb_mem_items"]!.AsArray(), Has.Count.EqualTo(2));
        Assert.That(report["know_mem_retain_items"]!.AsArray(), Has.Count.EqualTo(2));
        Assert.That(report["files"]!["retain_qa_examples"]!.GetValue<string>(), Is.EqualTo(data.File("knowmem/retain_qa_icl.json")));
        Assert.That(report["min_k"]!["forget"]!.AsArray(), Has.Count.EqualTo(3));
        Assert.That(report["min_k"]!["holdout"]!.AsArray(), Has.Count.EqualTo(3));
        var auc = report["min_k"]!["auc"]!.GetValue<double>();
        Assert.That(report["priv_leak"]!["value"]!.GetValue<double>(), Is.EqualTo((auc - 0.4772) / 0.4772 * 100).Within(1e-12));
    }

    /// <summary>
    /// --corpus news on MUSE's released layout: PrivLeak against muse_bench's AUC_RETRAIN (0.4772) without a retrained
    /// model; MUSE_EVAL.json and MUSE_SUMMARY.json beside report.json in open-unlearning's layout, each ROUGE entry the
    /// mean of its items' rougeL_f1 (1e-12: the same 2 doubles summed), mia_min_k = 1 − MUSE's AUC, privleak from it with
    /// open-unlearning's 1e-10 (1e-9, as MuseLogsTests); and --from-logs on that folder (its report.json, scored without
    /// stemming, read before MUSE_EVAL.json) gives the same summary, rescored with 0 differing.
    /// </summary>
    [Test]
    public void MuseCorpusWritesOpenUnlearningsLayout()
    {
        using var data = new TempDirectory();
        ReleasedLayout(data, characters: 150, privLeakTexts: 2);

        var output = Path.Combine(data.Path, "out", "report.json");
        var run = Simnpo.Run("eval", "muse", "--model", _model.Path, "--data", data.Path, "--corpus", "news",
            "--verbmem-new-tokens", "2", "--knowmem-new-tokens", "2", "--out", output);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        var report = Read(output);
        Assert.That(report["priv_leak"]!["retrain_auc"]!.GetValue<double>(), Is.EqualTo(0.47719999999999996));
        var eval = Read(data.File("out/MUSE_EVAL.json")).AsObject();
        var summary = Read(data.File("out/MUSE_SUMMARY.json")).AsObject();
        Assert.That(summary.Select(p => p.Key), Is.EqualTo(new[]
        {
            "exact_memorization", "extraction_strength", "forget_knowmem_ROUGE", "forget_verbmem_ROUGE", "mia_gradnorm", "mia_loss", "mia_min_k",
            "mia_min_k_plus_plus", "mia_zlib", "privleak", "retain_knowmem_ROUGE",
        }));
        Assert.That(report["summary"]!.ToJsonString(), Is.EqualTo(summary.ToJsonString()));
        var items = eval["forget_verbmem_ROUGE"]!["value_by_index"]!.AsObject();
        Assert.That(items.Select(p => p.Key), Is.EqualTo(new[] { "0", "1" }));
        Assert.That(items["0"]!.AsObject().Select(p => p.Key),
            Is.EqualTo(new[] { "rouge1_recall", "rougeL_f1", "rougeL_recall", "input", "ground_truth", "generation" }));
        Assert.That(summary["forget_verbmem_ROUGE"]!.GetValue<double>(),
            Is.EqualTo(items.Average(p => p.Value!["rougeL_f1"]!.GetValue<double>())).Within(1e-12));
        var auc = report["min_k"]!["auc"]!.GetValue<double>();
        Assert.That(summary["mia_min_k"]!.GetValue<double>(), Is.EqualTo(1 - auc).Within(1e-12));
        Assert.That(summary["privleak"]!.GetValue<double>(), Is.EqualTo((1 - (1 - auc) - 0.4772) / (0.4772 + 1e-10) * 100).Within(1e-9));

        var again = Path.Combine(data.Path, "again", "report.json");
        var fromLogs = Simnpo.Run("eval", "muse", "--from-logs", Path.GetDirectoryName(output)!, "--corpus", "news", "--rescore", "--out", again);
        Assert.That(fromLogs.Code, Is.EqualTo(CommandRunner.Success), fromLogs.Error);
        Assert.That(Read(again)["summary"]!.ToJsonString(),
            Is.EqualTo(WithoutModelMetrics(summary, keep: ["mia_min_k", "privleak"]).ToJsonString()));
        Assert.That(Read(again)["rescore"]!["differing"]!.GetValue<int>(), Is.Zero);
    }
}
