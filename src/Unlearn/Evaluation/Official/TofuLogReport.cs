using System.Text.Json.Nodes;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// `eval tofu --from-logs`: every summary computed from a log's per-item values without a model, as report.json (what
/// was read, the formulas, the summary under open-unlearning's names, the rescore) with TOFU_EVAL.json and
/// TOFU_SUMMARY.json beside it.
/// </summary>
public sealed record TofuLogReport(TofuLog Log, TofuLog? Retain, TofuFormulas Formulas, OpenUnlearningMetrics Metrics, RescoreSummary? Rescore)
{
    public const string EvalFileName = "TOFU_EVAL.json";
    public const string SummaryFileName = "TOFU_SUMMARY.json";

    /// <summary>Reads, checks and aggregates everything before anything is written: a bad log leaves no file behind.</summary>
    public static TofuLogReport Compute(string logPath, string? retainPath, TruthRatioMean mean, bool rescore)
    {
        var log = TofuLogReader.Read(logPath);
        var retain = retainPath is null ? null : TofuLogReader.Read(retainPath);
        if (retain is not null) TofuLogReader.CheckComparable(retain, log.Path, log.Forget.Items.Count, log.ForgetSetOrInferred);
        RescoreSummary? summary = null;
        if (rescore) (log, summary) = TofuLogRescore.Apply(log);
        var formulas = TofuFormulas.For(log.Layout, mean);
        return new TofuLogReport(log, retain, formulas, TofuLogAggregation.Compute(log, formulas, retain), summary);
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["from_logs"] = Log.Path,
            ["layout"] = LayoutName(Log.Layout),
            ["retain_results"] = Retain?.Path,
            ["retain_layout"] = Retain is null ? null : LayoutName(Retain.Layout),
            ["items"] = new JsonObject(Log.Splits.Select(s => KeyValuePair.Create(s.Key, (JsonNode?)s.Value.Items.Count))),
            ["truth_ratio_mean"] = Formulas.Mean == TruthRatioMean.Geometric ? "geometric" : "arithmetic",
            ["truth_ratio_formula"] = Formulas.Describe(),
            ["summary"] = Metrics.Summary(),
        };
        if (Rescore is { } r)
            json["rescore"] = new JsonObject { ["compared"] = r.Compared, ["differing"] = r.Differing, ["max_abs_diff"] = r.MaxAbsDiff };
        return json;
    }

    /// <summary>report.json, then TOFU_EVAL.json and TOFU_SUMMARY.json in its folder.</summary>
    public void Write(string reportPath)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(reportPath))!;
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(reportPath, ToJson().ToJsonString(TofuReport.Json) + "\n");
        Metrics.WriteEval(Path.Combine(folder, EvalFileName));
        Metrics.WriteSummary(Path.Combine(folder, SummaryFileName));
    }

    public static string LayoutName(TofuLogLayout layout) => layout switch
    {
        TofuLogLayout.SimNpo => "simnpo report.json",
        TofuLogLayout.OpenUnlearning => "open-unlearning TOFU_EVAL.json",
        _ => "locuslab/tofu eval_log_aggregated.json",
    };
}
