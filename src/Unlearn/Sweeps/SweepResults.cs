using System.Text;
using System.Text.Json;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Reports;

namespace SimNpo.Unlearn.Sweeps;

/// <summary>
/// What a finished point's run folder says: its last step's losses (log.jsonl), its last evaluation (forget and retain
/// log-probs with --eval-every; the keys of whatever evaluation the run logs), and with the sweep's --eval-tofu the
/// TOFU evaluation's summary (eval/report.json: forget_quality, model_utility and the rest under open-unlearning's names).
/// </summary>
public sealed record SweepResult(SweepPoint Point, string Status, int? Steps, IReadOnlyDictionary<string, double> Numbers)
{
    public const string Finished = "finished", Failed = "failed";

    private static readonly string[] LossKeys = ["loss", "forget_loss", "retain_loss"];

    /// <summary>Where the sweep's --eval-tofu writes a point's TOFU report.</summary>
    public static string EvalReport(string runDirectory) => Path.Combine(runDirectory, "eval", "report.json");

    public static SweepResult Read(SweepPoint point, string runDirectory, bool succeeded)
    {
        var log = Path.Combine(runDirectory, "log.jsonl");
        if (!succeeded || !File.Exists(log)) return new SweepResult(point, Failed, null, new Dictionary<string, double>());
        JsonElement? last = null, lastEval = null;
        foreach (var line in File.ReadLines(log).Where(l => l.Length > 0))
        {
            var step = JsonDocument.Parse(line).RootElement;
            last = step;
            if (step.TryGetProperty("eval", out var eval)) lastEval = eval;
        }
        var numbers = new Dictionary<string, double>();
        foreach (var key in LossKeys)
            if (last is { } final && final.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Number) numbers[key] = value.GetDouble();
        foreach (var pair in lastEval?.EnumerateObject() ?? default) numbers[pair.Name] = pair.Value.GetDouble();
        if (File.Exists(EvalReport(runDirectory))
            && JsonDocument.Parse(File.ReadAllText(EvalReport(runDirectory))).RootElement.TryGetProperty("summary", out var summary))
            foreach (var pair in summary.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number)) numbers[pair.Name] = pair.Value.GetDouble();
        return new SweepResult(point, Finished, last?.GetProperty("step").GetInt32(), numbers);
    }
}

/// <summary>sweep.csv, sweep.md and the trade-off plot of every point.</summary>
public static class SweepReport
{
    public const string Csv = "sweep.csv", Markdown = "sweep.md", Plot = "sweep.svg";

    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<SweepResult> results)
    {
        var keys = results.SelectMany(r => r.Point.Settings.Select(s => s.Key)).Distinct().ToArray();
        var numbers = results.SelectMany(r => r.Numbers.Keys).Distinct().ToArray();
        string[] header = ["point", .. keys, "status", "steps", .. numbers];
        var rows = results.Select(r => (string[])[r.Point.Name, .. r.Point.Settings.Select(s => s.Value), r.Status, r.Steps?.ToString() ?? "",
            .. numbers.Select(n => r.Numbers.TryGetValue(n, out var v) ? SweepGrid.Number(v) : "")]).ToArray();

        var csv = new StringBuilder();
        foreach (var row in rows.Prepend(header)) csv.AppendLine(string.Join(",", row.Select(CsvField)));
        AtomicFile.WriteAllText(Path.Combine(directory, Csv), csv.ToString());
        var markdown = new StringBuilder();
        markdown.AppendLine("| " + string.Join(" | ", header) + " |").AppendLine("|" + string.Concat(header.Select(_ => " --- |")));
        foreach (var row in rows) markdown.AppendLine("| " + string.Join(" | ", row) + " |");
        AtomicFile.WriteAllText(Path.Combine(directory, Markdown), markdown.ToString());

        List<string> written = [Path.Combine(directory, Csv), Path.Combine(directory, Markdown)];
        if (TradeOff(results) is var (xLabel, yLabel, points) && points.Count > 0)
        {
            written.Add(Path.Combine(directory, Plot));
            LabelledScatter.Save(written[^1], "sweep: forgetting against utility", xLabel, yLabel, points);
        }
        return written;
    }

    /// <summary>
    /// Utility on x, forgetting on y: TOFU's model utility and forget quality (log10, as the paper plots it) when the sweep
    /// evaluated each point, else the retain and forget log-probs of the last evaluation (higher retain ℓ is more utility,
    /// lower forget ℓ more forgetting), or without an evaluation the final retain and forget losses.
    /// </summary>
    private static (string X, string Y, List<LabelledPoint> Points)? TradeOff(IReadOnlyList<SweepResult> results)
    {
        var finished = results.Where(r => r.Status == SweepResult.Finished).ToArray();
        if (finished.Length > 0 && finished.All(r => r.Numbers.ContainsKey("model_utility") && r.Numbers.GetValueOrDefault("forget_quality") > 0))
            return ("model utility", "log10 forget quality (higher: closer to the retain model)",
                finished.Select(r => new LabelledPoint(r.Point.Name, r.Numbers["model_utility"], Math.Log10(r.Numbers["forget_quality"]))).ToList());
        (string X, string Y, string XLabel, string YLabel)[] choices =
        [
            ("retain_logprob", "forget_logprob", "retain mean ℓ (utility)", "forget mean ℓ (lower: more forgotten)"),
            ("retain_loss", "forget_loss", "final retain loss (lower: more utility)", "final forget loss"),
        ];
        foreach (var (x, y, xLabel, yLabel) in choices)
            if (finished.Length > 0 && finished.All(r => r.Numbers.ContainsKey(x) && r.Numbers.ContainsKey(y)))
                return (xLabel, yLabel, finished.Select(r => new LabelledPoint(r.Point.Name, r.Numbers[x], r.Numbers[y])).ToList());
        return null;
    }

    private static string CsvField(string text) => text.Contains(',') || text.Contains('"') ? $"\"{text.Replace("\"", "\"\"")}\"" : text;
}
