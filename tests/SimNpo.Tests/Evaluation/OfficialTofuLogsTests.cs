using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Evaluation.Official;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// The official numbers from the official logs (../shared/data/reference-logs): open-unlearning's Llama-2-7b-chat
/// fine-tuned model against its retain models, and locuslab/tofu's original Llama-2 logs against what its own
/// aggregation gives (tools/fixtures/tofu_aggregate.py). Both codes aggregate float64 per-item values in float64 numpy
/// (open-unlearning's per-item probabilities were float32 once, but are stored and averaged as float64), so a C# float64
/// recomputation differs only in summation order: about n·2⁻⁵³ relative for n ≤ 400 items, hence 1e-12. The KS p-value
/// depends only on the ranks and the exact lattice-path count, which KolmogorovSmirnov reproduces (1e-12 as well).
/// </summary>
public class OfficialTofuLogsTests
{
    private const double Relative = 1e-12;

    private static string OpenUnlearning(string name) => SharedFiles.Require($"data/reference-logs/open-unlearning/{name}");

    private static string Tofu(string model) => SharedFiles.Require($"data/reference-logs/tofu/ft_epoch5_lr1e-05_llama2-7b_{model}_wd0.01");

    private static double Value(JsonObject summary, string name) => summary[name]!.GetValue<double>();

    /// <summary>open-unlearning's docs/repro.md and TOFU_SUMMARY.json: forget quality per split, model utility 0.62756 on all three.</summary>
    [TestCase("01", "99", 1.2708e-03)]
    [TestCase("05", "95", 5.8673e-14)]
    [TestCase("10", "90", 4.3462e-25)]
    public void OpenUnlearningFullAgainstRetainGivesEveryStoredValue(string split, string retain, double publishedForgetQuality)
    {
        var logs = OpenUnlearning($"tofu_Llama-2-7b-chat-hf_full/evals_forget{split}");
        var report = TofuLogReport.Compute(logs, OpenUnlearning($"tofu_Llama-2-7b-chat-hf_retain{retain}"), TruthRatioMean.Geometric, rescore: true);
        var summary = report.Metrics.Summary();
        // The published figures have five significant digits.
        Assert.That(Value(summary, "forget_quality"), Is.EqualTo(publishedForgetQuality).Within(publishedForgetQuality * 5e-5));
        Assert.That(Value(summary, "model_utility"), Is.EqualTo(0.62756).Within(0.62756 * 5e-5));

        var stored = JsonNode.Parse(File.ReadAllText(Path.Combine(logs, "TOFU_EVAL.json")))!.AsObject();
        var ours = stored.Where(m => summary.ContainsKey(m.Key)).ToArray();
        // Everything but the memorisation and MIA metrics (branch `mia`) and privleak.
        Assert.That(ours, Has.Length.EqualTo(22));
        foreach (var (name, entry) in ours)
        {
            var expected = entry!["agg_value"]!.GetValue<double>();
            Assert.That(Value(summary, name), Is.EqualTo(expected).Within(Math.Abs(expected) * Relative), name);
        }
        foreach (var (name, value) in JsonNode.Parse(File.ReadAllText(Path.Combine(logs, "TOFU_SUMMARY.json")))!.AsObject().Where(m => summary.ContainsKey(m.Key)))
            Assert.That(Value(summary, name), Is.EqualTo(value!.GetValue<double>()).Within(Math.Abs(value.GetValue<double>()) * Relative), name);
        Assert.That(report.Rescore, Is.EqualTo(new RescoreSummary(report.Rescore!.Compared, 0, 0)));
        // rougeL_recall, rouge1_recall and rougeL_f1 of every item of the four splits.
        Assert.That(report.Rescore.Compared, Is.EqualTo(3 * report.Log.Splits.Values.Sum(s => s.Items.Count)));
    }

    private static readonly JsonObject Aggregate =
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "evaluation", "tofu_aggregate.json")))!.AsObject();

    /// <summary>aggregate_eval_stat.py's names → open-unlearning's.</summary>
    private static readonly (string Official, string Ours)[] Names =
    [
        ("Prob. Real Authors", "ra_Q_A_Prob_normalised"), ("ROUGE Real Authors", "ra_Q_A_ROUGE"), ("Truth Ratio Real Authors", "ra_Truth_Ratio"),
        ("Prob. Real World", "wf_Q_A_Prob_normalised"), ("ROUGE Real World", "wf_Q_A_ROUGE"), ("Truth Ratio Real World", "wf_Truth_Ratio"),
        ("Prob. Retain", "retain_Q_A_Prob"), ("ROUGE Retain", "retain_Q_A_ROUGE"), ("Truth Ratio Retain", "retain_Truth_Ratio"),
        ("Prob. Forget", "forget_Q_A_Prob"), ("ROUGE Forget", "forget_Q_A_ROUGE"), ("Truth Ratio Forget", "forget_truth_ratio"),
        ("Model Utility", "model_utility"),
    ];

    [TestCase("full")]
    [TestCase("retain90")]
    [TestCase("retain95")]
    [TestCase("retain99")]
    public void TofuLogsGiveWhatItsAggregationGives(string model)
    {
        var expected = Aggregate["models"]![model]!;
        foreach (var (mean, key) in new[] { (TruthRatioMean.Geometric, "geometric"), (TruthRatioMean.Arithmetic, "arithmetic") })
        {
            var report = TofuLogReport.Compute(Tofu(model), null, mean, rescore: true);
            Assert.That(report.Log.Layout, Is.EqualTo(TofuLogLayout.Locuslab));
            var summary = report.Metrics.Summary();
            foreach (var (official, ours) in Names)
            {
                var value = expected[key]![official]!.GetValue<double>();
                Assert.That(Value(summary, ours), Is.EqualTo(value).Within(Math.Abs(value) * Relative), $"{key} {official}");
            }
            Assert.That(report.Rescore!.Differing, Is.Zero);
            // rougeL_recall and rouge1_recall of every item (TOFU's logs keep no F1).
            Assert.That(report.Rescore.Compared, Is.EqualTo(2 * report.Log.Splits.Values.Sum(s => s.Items.Count)));
        }
    }

    /// <summary>
    /// The finding of docs/fidelity.md: on the same full-model logs, model utility is 0.6227 with the geometric mean of the
    /// perturbed probabilities (aggregate_eval_stat.py, Unlearn-Simple, open-unlearning) and 0.5859 with the arithmetic mean
    /// (TOFU's utils.py); forget quality does not depend on it.
    /// </summary>
    [Test]
    public void TruthRatioMeanMovesModelUtilityNotForgetQuality()
    {
        var geometric = TofuLogReport.Compute(Tofu("full"), Tofu("retain90"), TruthRatioMean.Geometric, rescore: false).Metrics.Summary();
        var arithmetic = TofuLogReport.Compute(Tofu("full"), Tofu("retain90"), TruthRatioMean.Arithmetic, rescore: false).Metrics.Summary();
        Assert.That(Value(geometric, "model_utility"), Is.EqualTo(0.6227).Within(5e-5));
        Assert.That(Value(arithmetic, "model_utility"), Is.EqualTo(0.5859).Within(5e-5));
        var forgetQuality = Aggregate["models"]!["full"]!["forget_quality"]!["retain90"]!["Forget Quality"]!.GetValue<double>();
        Assert.That(Value(geometric, "forget_quality"), Is.EqualTo(forgetQuality).Within(forgetQuality * Relative));
        Assert.That(Value(arithmetic, "forget_quality"), Is.EqualTo(Value(geometric, "forget_quality")));
    }

    /// <summary>The command line: the two commands of the README's "Comparing with published numbers", and the files they write.</summary>
    [Test]
    public void FromLogsWritesReportAndOfficialFiles()
    {
        using var work = new TempDirectory();
        var output = work.File("report.json");
        var run = Simnpo.Run("eval", "tofu", "--from-logs", Tofu("full"), "--retain-results", Tofu("retain90"), "--truth-ratio-mean", "arithmetic",
            "--out", output);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        Assert.That(run.Output, Does.Contain("model_utility 0.5858860350927").And.Contain("forget_quality 1.834066410994"));
        var report = JsonNode.Parse(File.ReadAllText(output))!;
        Assert.That(report["layout"]!.GetValue<string>(), Does.Contain("locuslab/tofu"));
        Assert.That(report["truth_ratio_mean"]!.GetValue<string>(), Is.EqualTo("arithmetic"));
        Assert.That(report["truth_ratio_formula"]!.GetValue<string>(), Does.StartWith("arithmetic: r = mean_k exp(-loss_pert_k)"));
        Assert.That(report["items"]!["forget"]!.GetValue<int>(), Is.EqualTo(300));
        var eval = JsonNode.Parse(File.ReadAllText(work.File("TOFU_EVAL.json")))!;
        var summary = JsonNode.Parse(File.ReadAllText(work.File("TOFU_SUMMARY.json")))!.AsObject();
        Assert.That(summary.ToJsonString(), Is.EqualTo(report["summary"]!.ToJsonString()));
        Assert.That(eval["forget_truth_ratio"]!["value_by_index"]!.AsObject(), Has.Count.EqualTo(300));
        Assert.That(eval["ra_Q_A_ROUGE"]!["value_by_index"]!["0"]!["generation"]!.GetValue<string>(), Does.Contain("William Shakespeare"));

        // What it wrote reads back as an open-unlearning log, with the same summary.
        var again = Simnpo.Run("eval", "tofu", "--from-logs", work.Path, "--out", Path.Combine(work.Path, "again", "report.json"));
        Assert.That(again.Code, Is.EqualTo(CommandRunner.Success), again.Error);
        var reread = JsonNode.Parse(File.ReadAllText(Path.Combine(work.Path, "again", "report.json")))!;
        Assert.That(reread["layout"]!.GetValue<string>(), Does.Contain("open-unlearning"));
    }

    /// <summary>A model log of one layout against a retain log of another: open-unlearning's forget01 against TOFU's retain99 (40 items each).</summary>
    [Test]
    public void LayoutsMixAcrossModelAndRetainLogs()
    {
        var mixed = TofuLogReport.Compute(OpenUnlearning("tofu_Llama-2-7b-chat-hf_full/evals_forget01"), Tofu("retain99"), TruthRatioMean.Geometric, false);
        Assert.That(mixed.Retain!.Layout, Is.EqualTo(TofuLogLayout.Locuslab));
        // Another retain model (TOFU's, not open-unlearning's): a forget quality of the same order, not the same value.
        Assert.That(Value(mixed.Metrics.Summary(), "forget_quality"), Is.InRange(1e-4, 1e-1));
    }

    /// <summary>TOFU's logs stop at 300 forget10 items; open-unlearning's hold all 400.</summary>
    [Test]
    public void CappedLogAgainstFullEvaluationIsRefused()
    {
        var retain = Path.Combine(Tofu("retain90"), "eval_results", "ds_size300", "eval_log_aggregated.json");
        var model = Path.Combine(OpenUnlearning("tofu_Llama-2-7b-chat-hf_full/evals_forget10"), "TOFU_EVAL.json");
        var error = Assert.Throws<SimNpo.Model.IO.BadInputException>(() => TofuLogReport.Compute(model, retain, TruthRatioMean.Geometric, false))!;
        Assert.That(error.Message, Is.EqualTo($"{retain}: the retain log's forget split has 300 items (forget10, capped at 300), the evaluation in {model} "
            + "has 400 (forget10): forget quality compares the same questions"));
    }
}
