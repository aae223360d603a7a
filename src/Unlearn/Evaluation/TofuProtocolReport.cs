using System.Globalization;
using System.Text;
using System.Text.Json;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>One split's three numbers in a protocol row.</summary>
public sealed record TofuSplitScores(string Split, double Prob, double RougeLRecall, double TruthRatio);

/// <summary>One evaluated model of the protocol: the original (target), the retain model or an unlearned one.</summary>
public sealed record TofuProtocolRow(string Name, string Model, string ModelSha256, double ForgetQuality, double ModelUtility,
    IReadOnlyList<TofuSplitScores> Splits)
{
    public TofuSplitScores Split(string name) => Splits.Single(s => s.Split == name);
}

/// <summary>
/// report.json and report.md of `simnpo tofu`: the table the paper prints, one row per model. The per-item values are
/// in eval/NAME.json beside it.
/// </summary>
public sealed record TofuProtocolReport(string ForgetSet, string RetainSplit, string Device, TofuProtocolSettings Settings, IReadOnlyList<TofuProtocolRow> Rows)
{
    public const string FileName = "report.json";

    public static TofuProtocolReport From(TofuProtocolSettings settings, IEnumerable<(string Name, TofuReport Report)> reports)
    {
        var rows = reports.Select(r => new TofuProtocolRow(r.Name, r.Report.Model, r.Report.ModelSha256, r.Report.ForgetQuality!.Value, r.Report.ModelUtility,
            r.Report.Splits.Select(s => new TofuSplitScores(s.Name, s.Prob, s.RougeLRecall, s.TruthRatio)).ToArray())).ToArray();
        var device = reports.First().Report.Device;
        return new TofuProtocolReport(settings.Evaluation.ForgetSet, settings.RetainSplit, device, settings, rows);
    }

    public void Write(string jsonPath)
    {
        AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(this, TofuReport.Json) + "\n");
        AtomicFile.WriteAllText(Path.ChangeExtension(jsonPath, ".md"), ToMarkdown());
    }

    private static readonly string[] SplitOrder = [TofuSplit.ForgetName, TofuSplit.Retain.Name, TofuSplit.RealAuthors.Name, TofuSplit.WorldFacts.Name];

    /// <summary>The table alone: forget quality, model utility, then Prob, ROUGE-L recall and truth ratio of each split.</summary>
    public string Table()
    {
        string F(double value) => value.ToString("F4", CultureInfo.InvariantCulture);
        var text = new StringBuilder("| model | forget quality | model utility |");
        foreach (var split in SplitOrder) text.Append($" {split} Prob | {split} ROUGE-L | {split} truth ratio |");
        text.AppendLine().Append("| --- | --- | --- |").AppendLine(string.Concat(Enumerable.Repeat(" --- | --- | --- |", SplitOrder.Length)));
        foreach (var row in Rows)
        {
            text.Append($"| {row.Name} | {row.ForgetQuality.ToString("G4", CultureInfo.InvariantCulture)} | {F(row.ModelUtility)} |");
            foreach (var split in SplitOrder.Select(row.Split)) text.Append($" {F(split.Prob)} | {F(split.RougeLRecall)} | {F(split.TruthRatio)} |");
            text.AppendLine();
        }
        return text.ToString();
    }

    public string ToMarkdown() => new StringBuilder()
        .AppendLine($"# TOFU protocol ({ForgetSet}, retain model trained on {RetainSplit})").AppendLine()
        .AppendLine($"- device: {Device}; at most {Settings.Evaluation.MaxItems} items per split")
        .AppendLine("- forget quality: KS p-value of each model's forget truth ratios against the retain model's (1 for the retain model itself)")
        .AppendLine("- model utility: harmonic mean of Prob, ROUGE-L recall and truth ratio on retain, real authors and world facts")
        .AppendLine("- per-item values: eval/NAME.json; plots: plots/").AppendLine()
        .Append(Table())
        .ToString();
}
