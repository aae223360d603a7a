using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Tests.Cli;

namespace SimNpo.Tests.Evaluation;

/// <summary>`simnpo eval muse --from-logs`: the official logs end to end, and bad logs refused before anything is written.</summary>
public class MuseFromLogsCommandTests
{
    private static JsonNode Read(string path) => JsonNode.Parse(File.ReadAllText(path))!;

    /// <summary>
    /// The MUSE authors' News target outputs against their retrained model's, rescored: the numbers of MuseLogsTests
    /// printed and written (report.json `summary` and `rescore`, MUSE_EVAL.json, MUSE_SUMMARY.json).
    /// </summary>
    [Test]
    public void AggregatesTheMuseAuthorsNewsOutputs()
    {
        var root = SharedFiles.Require("data/reference-logs/muse-bench/news");
        using var work = new TempDirectory();
        var output = work.File("report.json");
        var run = Simnpo.Run("eval", "muse", "--from-logs", Path.Combine(root, "target"), "--retrain-results", Path.Combine(root, "retrain"), "--rescore",
            "--out", output);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        Assert.That(run.Output, Does.Contain("forget_knowmem_ROUGE 0.6390755604045073").And.Contain("AUC (MUSE's convention) 0.0009 against 0.4772")
            .And.Contain("1200 ROUGE values compared, 0 differing"));
        var report = Read(output);
        Assert.That(report["summary"]!["privleak"]!.GetValue<double>(), Is.EqualTo(-99.81).Within(0.005));
        Assert.That(report["priv_leak"]!["value"]!.GetValue<double>(), Is.EqualTo(-99.81).Within(0.005));
        Assert.That(report["rescore"]!["compared"]!.GetValue<int>(), Is.EqualTo(1200));
        Assert.That(report["rescore"]!["max_abs_diff"]!.GetValue<double>(), Is.Zero);
        Assert.That(Read(work.File("MUSE_SUMMARY.json")).ToJsonString(), Is.EqualTo(report["summary"]!.ToJsonString()));
        Assert.That(Read(work.File("MUSE_EVAL.json"))["forget_knowmem_ROUGE"]!["value_by_index"]!.AsObject(), Has.Count.EqualTo(100));
    }

    /// <summary>A small open-unlearning MUSE_EVAL.json, to break in one place per case.</summary>
    private static JsonObject Log(int holdout = 2) => new()
    {
        ["forget_knowmem_ROUGE"] = new JsonObject
        {
            ["agg_value"] = 0.5,
            ["value_by_index"] = new JsonObject
            {
                ["0"] = Item("Paris", "Paris"),
                ["1"] = Item("Rome", "Madrid"),
            },
        },
        ["mia_min_k"] = new JsonObject
        {
            ["forget"] = Scores(1.0, 2.0),
            ["holdout"] = Scores([.. Enumerable.Range(0, holdout).Select(i => 3.0 + i)]),
            ["auc"] = 1.0,
            ["agg_value"] = 1.0,
        },
    };

    private static JsonObject Item(string truth, string generation) => new()
    {
        ["rouge1_recall"] = truth == generation ? 1.0 : 0.0, ["rougeL_f1"] = truth == generation ? 1.0 : 0.0,
        ["rougeL_recall"] = truth == generation ? 1.0 : 0.0, ["input"] = "Question: ?\nAnswer: ", ["ground_truth"] = truth, ["generation"] = generation,
    };

    private static JsonObject Scores(params double[] scores)
    {
        var byIndex = new JsonObject();
        for (var i = 0; i < scores.Length; i++) byIndex[$"{i}"] = new JsonObject { ["score"] = scores[i] };
        return new JsonObject { ["agg_value"] = scores.Average(), ["value_by_index"] = byIndex };
    }

    [Test]
    public void AggregatesASmallOpenUnlearningLog()
    {
        using var work = new TempDirectory();
        File.WriteAllText(work.File("MUSE_EVAL.json"), Log().ToJsonString());
        var run = Simnpo.Run("eval", "muse", "--from-logs", work.Path, "--retrain-auc", "0.5", "--rescore", "--out", work.File("out/report.json"));
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        var summary = Read(work.File("out/report.json"))["summary"]!;
        // Every holdout score above every forget score: AUC 1, so privleak = (0 − 0.5) / (0.5 + 1e-10) × 100.
        Assert.That(summary["mia_min_k"]!.GetValue<double>(), Is.EqualTo(1));
        Assert.That(summary["privleak"]!.GetValue<double>(), Is.EqualTo(-0.5 / (0.5 + 1e-10) * 100));
        Assert.That(summary["forget_knowmem_ROUGE"]!.GetValue<double>(), Is.EqualTo(0.5));
        Assert.That(Read(work.File("out/report.json"))["rescore"]!["differing"]!.GetValue<int>(), Is.Zero);
    }

    /// <summary>--corpus books without a retrained log: muse_bench's AUC_RETRAIN['books'] (0.5393) is the reference.</summary>
    [Test]
    public void CorpusBooksTakesItsRetrainedAuc()
    {
        using var work = new TempDirectory();
        File.WriteAllText(work.File("MUSE_EVAL.json"), Log().ToJsonString());
        var run = Simnpo.Run("eval", "muse", "--from-logs", work.Path, "--corpus", "books", "--out", work.File("out/report.json"));
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        var report = Read(work.File("out/report.json"));
        Assert.That(report["priv_leak"]!["retrain_auc"]!.GetValue<double>(), Is.EqualTo(0.5392999999999999));
        Assert.That(report["summary"]!["privleak"]!.GetValue<double>(), Is.EqualTo(-0.5392999999999999 / (0.5392999999999999 + 1e-10) * 100));
    }

    /// <summary>Each bad log: exit 1, an error naming the file and the field, and no report written.</summary>
    [TestCase("unknown layout", "MUSE_EVAL.json", "unknown MUSE log layout")]
    [TestCase("summary only", "MUSE_EVAL.json", "summary values only")]
    [TestCase("gap in the indices", "MUSE_EVAL.json", "forget_knowmem_ROUGE.value_by_index: has index '2' where index 1 was expected")]
    [TestCase("NaN", "MUSE_EVAL.json", "forget_knowmem_ROUGE.value_by_index.0.rougeL_f1: is NaN")]
    [TestCase("string for a number", "MUSE_EVAL.json", "mia_min_k.forget.value_by_index.0.score: must be a number")]
    [TestCase("retrain log of other texts", "retrain.json", "is not a log of the same texts: privleak holdout texts: 3 here against 2")]
    [TestCase("TOFU log", "MUSE_EVAL.json", "is a TOFU log")]
    public void RefusesBadLogs(string problem, string namedFile, string message)
    {
        using var work = new TempDirectory();
        var log = Log();
        var text = problem switch
        {
            "unknown layout" => """{"accuracy": 1}""",
            "summary only" => """{"forget_knowmem_ROUGE": 0.5, "privleak": 1}""",
            "gap in the indices" => log.ToJsonString().Replace("\"1\":{\"rouge1", "\"2\":{\"rouge1"),
            "NaN" => log.ToJsonString().Replace("\"rougeL_f1\":1", "\n\"rougeL_f1\": NaN"),
            "string for a number" => log.ToJsonString().Replace("{\"score\":1}", "{\"score\":\"1\"}"),
            "TOFU log" => """{"forget_quality": {"agg_value": 0.5}}""",
            _ => log.ToJsonString(),
        };
        File.WriteAllText(work.File("MUSE_EVAL.json"), text);
        File.WriteAllText(work.File("retrain.json"), Log(holdout: 3).ToJsonString());
        string[] retrain = problem == "retrain log of other texts" ? ["--retrain-results", work.File("retrain.json")] : [];
        var run = Simnpo.Run(["eval", "muse", "--from-logs", work.File("MUSE_EVAL.json"), .. retrain, "--out", work.File("out/report.json")]);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Failure), run.Output);
        Assert.That(run.Error, Does.Contain(work.File(namedFile)).And.Contain(message));
        Assert.That(run.Error, Does.Not.Contain("   at "));
        Assert.That(Directory.Exists(work.File("out")) && Directory.EnumerateFileSystemEntries(work.File("out")).Any(), Is.False);
    }

    [Test]
    public void RefusesModelOptionsWithFromLogs()
    {
        using var work = new TempDirectory();
        var run = Simnpo.Run("eval", "muse", "--from-logs", work.Path, "--data", work.Path, "--out", work.File("report.json"));
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(run.Error, Does.Contain("--from-logs aggregates a log without a model"));
    }
}
