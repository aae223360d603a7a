using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>One generation scored against its reference: the passage or question, the truth, the model's text, ROUGE-L F1 × 100.</summary>
public sealed record MuseGeneration(string Input, string Reference, string Generation, [property: JsonPropertyName("rouge_l_f1")] double RougeLF1);

/// <summary>
/// Min-K% scores of the forget and holdout texts, and the AUC of telling them apart in MUSE's convention: muse_bench's
/// forget_holdout AUC labels the holdout texts as the positive class (members) and ranks by minus the Min-K% score
/// (metrics/privleak.py), so a model that memorised its forget texts scores near 0, one that never saw them near 0.5.
/// It is one minus the AUC that takes the forget texts as members (open-unlearning's mia_min_k).
/// </summary>
public sealed record MinKScores(IReadOnlyList<double> Forget, IReadOnlyList<double> Holdout)
{
    public double Auc => RocAuc.Compute(Holdout.Select(s => -s).ToArray(), Forget.Select(s => -s).ToArray());
}

/// <summary>
/// PrivLeak = (AUC − AUC_retrain) / AUC_retrain × 100 on MUSE-convention AUCs (muse_bench eval.py). 0 is ideal, and a
/// model equal to its retrained reference scores exactly 0; below 0 the forget texts still look like members
/// (under-unlearning: MUSE's target model scores about −100), above 0 less so than to a model that never saw them
/// (over-unlearning).
/// </summary>
public sealed record PrivLeak(double Auc, double RetrainAuc, string RetrainReference)
{
    public const string MuseConvention = "MUSE's: the holdout texts are the positive class of the Min-K% AUC (forget vs holdout), "
        + "PrivLeak = (AUC - AUC_retrain) / AUC_retrain x 100; 0 = like the retrained model, < 0 under-unlearned, > 0 over-unlearned";

    /// <summary>Undefined (null) when the retrained AUC is 0.</summary>
    public double? Value => RetrainAuc == 0 ? null : (Auc - RetrainAuc) / RetrainAuc * 100;

    /// <summary>Written into report.json so that a reader can tell which AUC is meant.</summary>
    public string Convention => MuseConvention;
}

/// <summary>A MUSE evaluation as written to report.json, with a Markdown summary beside it.</summary>
public sealed record MuseReport
{
    public string Model { get; init; } = "";
    public string ModelSha256 { get; init; } = "";
    public string Device { get; init; } = "";
    public MuseSettings? Config { get; init; }
    /// <summary>The files read: the data folder's, or the options' where given.</summary>
    public MuseFiles? Files { get; init; }
    public required double VerbMem { get; init; }
    public required double KnowMemForget { get; init; }
    public double? KnowMemRetain { get; init; }
    public PrivLeak? PrivLeak { get; init; }
    /// <summary>Why a metric is missing (no holdout texts, no retrained reference, no retain QA).</summary>
    public IReadOnlyList<string> NotComputed { get; init; } = [];
    public double Seconds { get; init; }
    public MinKScores? MinK { get; init; }
    public required IReadOnlyList<MuseGeneration> VerbMemItems { get; init; }
    public required IReadOnlyList<MuseGeneration> KnowMemForgetItems { get; init; }
    public IReadOnlyList<MuseGeneration>? KnowMemRetainItems { get; init; }

    public static readonly JsonSerializerOptions Json = new(TofuReport.Json);

    public void Write(string jsonPath)
    {
        AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(this, Json) + "\n");
        AtomicFile.WriteAllText(Path.ChangeExtension(jsonPath, ".md"), ToMarkdown());
    }

    public string ToMarkdown()
    {
        string F(double value) => value.ToString("F2", CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine("# MUSE evaluation").AppendLine();
        text.AppendLine($"- model: `{Model}` (sha256 `{ModelSha256}`)");
        text.AppendLine($"- device: {Device}; {Seconds.ToString("F1", CultureInfo.InvariantCulture)} s").AppendLine();
        text.AppendLine("| metric | value | items |");
        text.AppendLine("| --- | --- | --- |");
        text.AppendLine($"| VerbMem (forget, ROUGE-L F1 × 100) | {F(VerbMem)} | {VerbMemItems.Count} |");
        text.AppendLine($"| KnowMem forget (ROUGE-L F1 × 100) | {F(KnowMemForget)} | {KnowMemForgetItems.Count} |");
        if (KnowMemRetain is { } retain) text.AppendLine($"| KnowMem retain (ROUGE-L F1 × 100) | {F(retain)} | {KnowMemRetainItems!.Count} |");
        if (MinK is { } minK)
            text.AppendLine($"| Min-K% AUC, forget vs holdout (holdout positive) | {minK.Auc.ToString("F4", CultureInfo.InvariantCulture)} "
                + $"| {minK.Forget.Count} + {minK.Holdout.Count} |");
        if (PrivLeak is { } leak)
            text.AppendLine($"| PrivLeak (retrained AUC {leak.RetrainAuc.ToString("F4", CultureInfo.InvariantCulture)}, {leak.RetrainReference}) | "
                + $"{(leak.Value is { } value ? F(value) : "undefined")} | |");
        if (MinK is not null) text.AppendLine().AppendLine($"Convention: {Evaluation.PrivLeak.MuseConvention}.");
        if (NotComputed.Count > 0)
        {
            text.AppendLine().AppendLine("Not computed:");
            foreach (var reason in NotComputed) text.AppendLine($"- {reason}");
        }
        return text.ToString();
    }
}
