using System.CommandLine;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Evaluation.Official;

namespace SimNpo.Cli;

/// <summary>`simnpo eval tofu --from-logs`: the summaries of an evaluation log (ours, open-unlearning's, TOFU's), without a model.</summary>
public static class EvalFromLogs
{
    public static Option<string?> FromLogs() => new("--from-logs")
    {
        Description = "aggregate an evaluation log instead of evaluating a model: our report.json, open-unlearning's TOFU_EVAL.json or TOFU's "
            + "eval_log_aggregated.json (or their folder)",
    };

    public static Option<bool> Rescore() => new("--rescore")
        { Description = "with --from-logs: recompute each item's ROUGE from its generation and ground truth, and report how many stored values differ" };

    public static Option<string> TruthRatioMean() => new Option<string>("--truth-ratio-mean")
    {
        Description = "with --from-logs: how the perturbed answers enter the truth ratio: geometric (Unlearn-Simple, open-unlearning, TOFU's "
            + "aggregate_eval_stat.py) or arithmetic (TOFU's utils.py)",
        DefaultValueFactory = _ => "geometric",
    }.AcceptOnlyFromAmong("geometric", "arithmetic");

    public static int Run(string logPath, string? retainPath, string mean, bool rescore, string outPath, TextWriter writer)
    {
        AtomicFile.CheckWritable(outPath);
        var report = TofuLogReport.Compute(logPath, retainPath, TofuFormulas.ParseMean(mean), rescore);
        report.Write(outPath);
        var summary = report.Metrics.Summary();
        writer.WriteLine($"{TofuLogReport.LayoutName(report.Log.Layout)}: {report.Log.Path}");
        writer.WriteLine($"truth ratio: {report.Formulas.Describe()}");
        foreach (var (name, value) in summary) writer.WriteLine($"{name} {value?.ToJsonString() ?? "not computed (no --retain-results)"}");
        if (report.Rescore is { } r) writer.WriteLine($"rescore: {r.Compared} ROUGE values compared, {r.Differing} differing, max |diff| {r.MaxAbsDiff:G3}");
        writer.WriteLine($"report: {outPath}, with {TofuLogReport.EvalFileName} and {TofuLogReport.SummaryFileName} beside it");
        return CommandRunner.Success;
    }
}
