using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Evaluation.Official;

namespace SimNpo.Tests.Evaluation.Official;

/// <summary>
/// open-unlearning's metrics inside our TOFU and MUSE evaluations (stories260K, a few items): every entry in its layout,
/// one score per item, each AUC the one its stored scores give, privleak against a retain log's mia_min_k.
/// </summary>
public class MiaEvaluationTests : ConvertedStories260KTests
{
    private static double[] Scores(JsonNode side) => side["value_by_index"]!.AsObject().Select(p => p.Value!["score"]!.GetValue<double>()).ToArray();

    private static void AssertMiaEntries(OpenUnlearningMetrics metrics, IEnumerable<string> names, int forget, int holdout)
    {
        foreach (var name in names)
        {
            var entry = metrics[name];
            Assert.That(Scores(entry["forget"]!), Has.Length.EqualTo(forget), name);
            Assert.That(Scores(entry["holdout"]!), Has.Length.EqualTo(holdout), name);
            var auc = MiaAttacks.Auc(Scores(entry["forget"]!), Scores(entry["holdout"]!));
            Assert.That(entry["auc"]!.GetValue<double>(), Is.EqualTo(auc).And.EqualTo(entry["agg_value"]!.GetValue<double>()), name);
        }
    }

    /// <summary>TofuMia on its own (what TofuEvaluation.Evaluate adds to Extra), without the slower generation of the four splits.</summary>
    [Test]
    public void TofuMetricsAndPrivLeakAgainstTheRetainLog()
    {
        var data = Path.GetDirectoryName(SharedFiles.Require("data/tofu/holdout01.jsonl"))!;
        var settings = new TofuSettings { DataDirectory = data, ForgetSet = "forget01", MaxItems = 3, ReferenceModel = Model.Path };
        var ops = new FastCpuOps();
        using var model = ModelFiles.Load(Model.Path, ops);
        var extra = TofuMia.Compute(model, TokenizerLoader.Load(Model.Path, model.Config), settings, ops);
        Assert.That(extra.Select(e => e.Key), Is.EqualTo(new[]
        {
            "exact_memorization", "extraction_strength", "mia_loss", "mia_zlib", "mia_min_k", "mia_min_k_plus_plus", "mia_gradnorm", "mia_reference",
        }));
        Assert.That(extra["exact_memorization"]["value_by_index"]!.AsObject(), Has.Count.EqualTo(3));
        AssertMiaEntries(extra, extra.Select(e => e.Key).Where(k => k.StartsWith("mia_", StringComparison.Ordinal)), 3, 3);
        // Against itself as reference model every loss difference is exactly 0 (one logits path for both): all ties, AUC one half.
        Assert.That(Scores(extra["mia_reference"]["forget"]!), Is.All.EqualTo(0));
        Assert.That(extra["mia_reference"]["auc"]!.GetValue<double>(), Is.EqualTo(0.5));

        var report = new TofuReport
        {
            Model = Model.Path, ModelSha256 = "", Device = "cpu", Config = settings, Splits = [], ModelUtility = 0, Seconds = 0, Extra = extra,
        };
        using var work = new TempDirectory();
        File.WriteAllText(work.File("TOFU_SUMMARY.json"), """{"mia_min_k": 0.38666875, "model_utility": 0.6}""");
        var auc = extra["mia_min_k"]["auc"]!.GetValue<double>();
        var withRetain = TofuMia.WithPrivLeak(report with { RetainReference = work.File("TOFU_SUMMARY.json") }).Extra!;
        Assert.That(withRetain["privleak"]["agg_value"]!.GetValue<double>(), Is.EqualTo(MiaAttacks.PrivLeak(auc, 0.38666875)));
        // A retain log without mia_min_k (locuslab/tofu's) leaves open-unlearning's default of 0.5.
        var withoutRetain = TofuMia.WithPrivLeak(report).Extra!;
        Assert.That(withoutRetain["privleak"]["agg_value"]!.GetValue<double>(), Is.EqualTo(((1 - auc) - 0.5) / (0.5 + 1e-10) * 100));
    }

    [Test]
    public void MuseEvalWritesTheMetricsToMuseEval()
    {
        using var data = new TempDirectory();
        File.WriteAllText(data.File(MuseData.VerbMemFile), """[{"prompt": "Once upon a time", "gt": "there was a little girl named Lily."}]""");
        File.WriteAllText(data.File(MuseData.KnowMemFile), """[{"question": "Who?", "answer": "Lily"}]""");
        File.WriteAllText(data.File(MuseData.KnowMemExamplesFile), """[{"question": "What?", "answer": "A ball"}]""");
        File.WriteAllText(data.File("holdout.json"), """["The committee adjourned at noon.", "Tom saw a big red car.", "Rain fell on the city."]""");
        var output = data.File("muse.json");
        var run = Simnpo.Run("eval", "muse", "--model", Model.Path, "--data", data.Path, "--holdout", data.File("holdout.json"), "--retrain-auc", "0.5",
            "--verbmem-new-tokens", "2", "--knowmem-new-tokens", "2", "--reference-model", Model.Path, "--out", output);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        var written = JsonNode.Parse(File.ReadAllText(data.File(MuseReport.EvalFile)))!.AsObject();
        var metrics = new OpenUnlearningMetrics();
        foreach (var (name, entry) in written) metrics.Add(name, entry!.AsObject().DeepClone().AsObject());
        Assert.That(metrics["exact_memorization"]["value_by_index"]!.AsObject(), Has.Count.EqualTo(1));
        Assert.That(metrics.Contains("extraction_strength"));
        // The VerbMem passage is the forget text here (MUSE-format data without privleak/), against the three holdout texts.
        AssertMiaEntries(metrics, ["mia_loss", "mia_zlib", "mia_min_k", "mia_min_k_plus_plus", "mia_gradnorm", "mia_reference"], 1, 3);
    }
}
