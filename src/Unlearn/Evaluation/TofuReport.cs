using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// A TOFU evaluation as written to report.json: the model (path, sha256), the device, the settings, every per-item
/// value, the per-split numbers, model utility and, when a retain model's truth ratios were at hand, forget quality.
/// </summary>
public sealed record TofuReport
{
    public required string Model { get; init; }
    public required string ModelSha256 { get; init; }
    public required string Device { get; init; }
    public required TofuSettings Config { get; init; }
    public required IReadOnlyList<TofuSplitResult> Splits { get; init; }
    /// <summary>Harmonic mean of {Prob, ROUGE-L recall, truth ratio} × {retain, real authors, world facts}.</summary>
    public required double ModelUtility { get; init; }
    /// <summary>KS p-value against the retain model's forget truth ratios; absent without them.</summary>
    public double? ForgetQuality { get; init; }
    /// <summary>Where the retain model's truth ratios came from (a results file or a model directory).</summary>
    public string? RetainReference { get; init; }
    public required double Seconds { get; init; }
    /// <summary>Metrics computed elsewhere (open-unlearning's memorisation and MIA metrics), in open-unlearning's layout;
    /// TOFU_EVAL.json and report.json's `summary` include every entry.</summary>
    [JsonIgnore]
    public Official.OpenUnlearningMetrics? Extra { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A collapsed model can drive a loss to infinity; the report keeps the value rather than failing.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // Reports are read by people too: "LGBTQ+" rather than "LGBTQ\u002B".
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>This report with forget quality against a retain model's per-item forget truth ratios.</summary>
    public TofuReport WithForgetQuality(IReadOnlyList<double> retainRatios, string retainReference) => this with
    {
        ForgetQuality = TofuMetrics.ForgetQuality(ForgetTruthRatios, retainRatios),
        RetainReference = retainReference,
    };

    [JsonIgnore]
    public TofuSplitResult Forget => Splits.Single(s => s.Name == TofuSplit.ForgetName);

    /// <summary>Each forget item's truth ratio, what forget quality compares between a model and the retain model.</summary>
    [JsonIgnore]
    public double[] ForgetTruthRatios => Forget.Items.Select(i => i.TruthRatio).ToArray();

    /// <summary>The nine numbers of model utility, named "split/metric", in TOFU's order.</summary>
    public static IReadOnlyList<(string Name, double Value)> UtilityParts(IReadOnlyList<TofuSplitResult> splits) =>
        splits.Where(s => s.Name != TofuSplit.ForgetName)
            .SelectMany(s => new[] { ($"{s.Name}/prob", s.Prob), ($"{s.Name}/rouge_l_recall", s.RougeLRecall), ($"{s.Name}/truth_ratio", s.TruthRatio) })
            .ToArray();

    public static double ModelUtilityOf(IReadOnlyList<TofuSplitResult> splits) =>
        TofuMetrics.HarmonicMean(UtilityParts(splits).Select(p => p.Value).ToArray());

    public string ToJson() => JsonSerializer.Serialize(this, Json) + "\n";

    /// <summary>report.json, and the Markdown summary beside it (same name, .md).</summary>
    public void Write(string jsonPath)
    {
        AtomicFile.WriteAllText(jsonPath, ToJson());
        AtomicFile.WriteAllText(Path.ChangeExtension(jsonPath, ".md"), ToMarkdown());
    }

    public string ToMarkdown()
    {
        string F(double value) => value.ToString("F4", CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine($"# TOFU evaluation ({Config.ForgetSet})").AppendLine();
        text.AppendLine($"- model: `{Model}` (sha256 `{ModelSha256}`)");
        text.AppendLine($"- device: {Device}; {Seconds.ToString("F1", CultureInfo.InvariantCulture)} s");
        text.AppendLine($"- at most {Config.MaxItems} items per split, sequences of at most {Config.MaxLength} tokens, greedy answers of at most "
            + $"{Config.MaxNewTokens?.ToString(CultureInfo.InvariantCulture) ?? "the rest of those"} tokens").AppendLine();
        text.AppendLine("| split | Prob | ROUGE-L recall | truth ratio | items |");
        text.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var split in Splits)
            text.AppendLine($"| {split.Name} | {F(split.Prob)} | {F(split.RougeLRecall)} | {F(split.TruthRatio)} | {split.Items.Count} |");
        text.AppendLine();
        text.AppendLine($"**Model utility** (harmonic mean of the nine retain, real-author and world-fact numbers): {F(ModelUtility)}").AppendLine();
        text.AppendLine(ForgetQuality is { } quality
            ? $"**Forget quality** (KS p-value of the forget truth ratios against `{RetainReference}`): {quality.ToString("G4", CultureInfo.InvariantCulture)}"
            : "**Forget quality**: not computed (no retain model results given).");
        text.AppendLine().AppendLine("Truth ratio: mean(min(R, 1/R)) on the forget split, mean(max(0, 1 − 1/R)) on the others; Prob on real authors and "
            + "world facts is the answer's share against the perturbed answers.");
        return text.ToString();
    }

    /// <summary>The retain model's per-item forget truth ratios R from its log (any layout), for forget quality.</summary>
    public static double[] ForgetTruthRatiosOf(Official.TofuLog retain) =>
        retain.Forget.Items.Select(i => TofuMetrics.TruthRatio(i.BaseLoss, i.PerturbedLosses)).ToArray();

    /// <summary>
    /// Every number of this report in open-unlearning's layout and formulas (TOFU_EVAL.json), forget quality as computed
    /// here, and the entries of Extra.
    /// </summary>
    public Official.OpenUnlearningMetrics OfficialMetrics()
    {
        var metrics = Official.TofuLogAggregation.Compute(Official.SimNpoTofuLog.FromReport(this, Model),
            Official.TofuFormulas.For(Official.TofuLogLayout.SimNpo, Official.TruthRatioMean.Geometric), forgetQuality: ForgetQuality);
        metrics.AddAll(Extra);
        return metrics;
    }

    /// <summary>report.json's `summary`: open-unlearning's metric names → values.</summary>
    public JsonObject Summary => OfficialMetrics().Summary();

    /// <summary>TOFU_EVAL.json and TOFU_SUMMARY.json in the given folder (beside report.json).</summary>
    public void WriteOfficial(string folder)
    {
        var metrics = OfficialMetrics();
        metrics.WriteEval(Path.Combine(folder, Official.TofuLogReport.EvalFileName));
        metrics.WriteSummary(Path.Combine(folder, Official.TofuLogReport.SummaryFileName));
    }
}
