using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Evaluation.Official;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// One generation scored against its reference: the passage or question, the truth, the model's text, its ROUGE-L and
/// ROUGE-1 (0–1, what open-unlearning's MUSE_EVAL.json holds per item) and ROUGE-L F1 × 100 (MUSE's scale).
/// </summary>
public sealed record MuseGeneration(string Input, string Reference, string Generation, RougeScore RougeL, RougeScore Rouge1)
{
    [JsonPropertyName("rouge_l_f1")]
    public double RougeLF1 => 100 * RougeL.F1;

    /// <summary>Scored as MUSE scores (rouge_score, scorer.score(reference, generation)) with or without the stemmer.</summary>
    public static MuseGeneration Score(string input, string reference, string generation, bool useStemmer) =>
        new(input, reference, generation, Evaluation.RougeL.Score(generation, reference, useStemmer), Evaluation.Rouge1.Score(generation, reference, useStemmer));
}

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

/// <summary>
/// A MUSE evaluation as written to report.json, with a Markdown summary, MUSE_EVAL.json and MUSE_SUMMARY.json
/// (open-unlearning's layout, <see cref="Official"/> and <see cref="Extra"/>) beside it. A report aggregated from logs
/// (`eval muse --from-logs`) names its source and leaves the items to MUSE_EVAL.json.
/// </summary>
public sealed record MuseReport
{
    /// <summary>The evaluated model (null when aggregated from logs).</summary>
    public string? Model { get; init; }
    public string? ModelSha256 { get; init; }
    public string? Device { get; init; }
    public MuseSettings? Config { get; init; }
    /// <summary>The files read: the data folder's, or the options' where given.</summary>
    public MuseFiles? Files { get; init; }
    /// <summary>The log read by `eval muse --from-logs` (file or folder, and its layout).</summary>
    public string? FromLogs { get; init; }
    public string? FromLogsLayout { get; init; }
    /// <summary>MUSE's scale: mean ROUGE-L F1 × 100; null when the log has no such items.</summary>
    public double? VerbMem { get; init; }
    public double? KnowMemForget { get; init; }
    public double? KnowMemRetain { get; init; }
    public PrivLeak? PrivLeak { get; init; }
    /// <summary>Why a metric is missing (no holdout texts, no retrained reference, no retain QA).</summary>
    public IReadOnlyList<string> NotComputed { get; init; } = [];
    public double Seconds { get; init; }
    public MinKScores? MinK { get; init; }
    public IReadOnlyList<MuseGeneration>? VerbMemItems { get; init; }
    public IReadOnlyList<MuseGeneration>? KnowMemForgetItems { get; init; }
    public IReadOnlyList<MuseGeneration>? KnowMemRetainItems { get; init; }
    /// <summary>`--rescore`: the log's ROUGE values recomputed from its texts.</summary>
    public MuseRescore? Rescore { get; init; }

    /// <summary>This evaluation's metrics in open-unlearning's layout and names (<see cref="MuseSummary"/>).</summary>
    [JsonIgnore]
    public OpenUnlearningMetrics? Official { get; init; }

    /// <summary>Metrics computed elsewhere (open-unlearning's memorisation and MIA metrics), in open-unlearning's layout;
    /// MUSE_EVAL.json and report.json's `summary` include every entry, and one of the same name replaces Official's.</summary>
    [JsonIgnore]
    public OpenUnlearningMetrics? Extra { get; init; }

    /// <summary>Official's and Extra's entries together, sorted by name as open-unlearning writes them.</summary>
    public OpenUnlearningMetrics AllMetrics()
    {
        var all = new OpenUnlearningMetrics();
        var entries = (Official ?? []).Where(e => Extra?.Contains(e.Key) != true).Concat(Extra ?? []);
        foreach (var (name, entry) in entries.OrderBy(e => e.Key, StringComparer.Ordinal)) all.Add(name, (JsonObject)entry.DeepClone());
        return all;
    }

    /// <summary>open-unlearning's metric name → agg_value (MUSE_SUMMARY.json): forget_knowmem_ROUGE, privleak, ...</summary>
    public JsonObject Summary => AllMetrics().Summary();

    public static readonly JsonSerializerOptions Json = new(TofuReport.Json);

    /// <summary>report.json, report.md, and MUSE_EVAL.json and MUSE_SUMMARY.json in the same folder.</summary>
    public void Write(string jsonPath)
    {
        var metrics = AllMetrics();
        var folder = Path.GetDirectoryName(Path.GetFullPath(jsonPath))!;
        metrics.WriteEval(Path.Combine(folder, EvalFile));
        metrics.WriteSummary(Path.Combine(folder, SummaryFile));
        AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(this, Json) + "\n");
        AtomicFile.WriteAllText(Path.ChangeExtension(jsonPath, ".md"), ToMarkdown());
    }

    public const string EvalFile = "MUSE_EVAL.json";
    public const string SummaryFile = "MUSE_SUMMARY.json";

    public string ToMarkdown()
    {
        string F(double value) => value.ToString("F2", CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine("# MUSE evaluation").AppendLine();
        text.AppendLine(FromLogs is null ? $"- model: `{Model}` (sha256 `{ModelSha256}`)" : $"- aggregated from `{FromLogs}` ({FromLogsLayout})");
        if (FromLogs is null) text.AppendLine($"- device: {Device}; {Seconds.ToString("F1", CultureInfo.InvariantCulture)} s");
        text.AppendLine();
        text.AppendLine("| metric | value | items |");
        text.AppendLine("| --- | --- | --- |");
        string Count(IReadOnlyList<MuseGeneration>? items) => items?.Count.ToString(CultureInfo.InvariantCulture) ?? "";
        if (VerbMem is { } verbMem) text.AppendLine($"| VerbMem (forget, ROUGE-L F1 × 100) | {F(verbMem)} | {Count(VerbMemItems)} |");
        if (KnowMemForget is { } forget) text.AppendLine($"| KnowMem forget (ROUGE-L F1 × 100) | {F(forget)} | {Count(KnowMemForgetItems)} |");
        if (KnowMemRetain is { } retain) text.AppendLine($"| KnowMem retain (ROUGE-L F1 × 100) | {F(retain)} | {Count(KnowMemRetainItems)} |");
        if (MinK is { } minK)
            text.AppendLine($"| Min-K% AUC, forget vs holdout (holdout positive) | {minK.Auc.ToString("F4", CultureInfo.InvariantCulture)} "
                + $"| {minK.Forget.Count} + {minK.Holdout.Count} |");
        if (PrivLeak is { } leak)
            text.AppendLine($"| PrivLeak (retrained AUC {leak.RetrainAuc.ToString("F4", CultureInfo.InvariantCulture)}, {leak.RetrainReference}) | "
                + $"{(leak.Value is { } value ? F(value) : "undefined")} | |");
        if (MinK is not null) text.AppendLine().AppendLine($"Convention: {Evaluation.PrivLeak.MuseConvention}.");
        var summary = Summary;
        if (summary.Count > 0)
        {
            text.AppendLine().AppendLine($"open-unlearning's names ({SummaryFile}; ROUGE 0–1, privleak with its 1e-10):").AppendLine();
            text.AppendLine("| metric | value |").AppendLine("| --- | --- |");
            foreach (var (name, value) in summary) text.AppendLine($"| {name} | {value?.ToJsonString() ?? "null"} |");
        }
        if (Rescore is { } rescore)
            text.AppendLine().AppendLine($"Rescored: {rescore.Compared} ROUGE values compared, {rescore.Differing} differing (largest difference "
                + $"{rescore.MaxAbsDiff.ToString("G3", CultureInfo.InvariantCulture)}).");
        if (NotComputed.Count > 0)
        {
            text.AppendLine().AppendLine("Not computed:");
            foreach (var reason in NotComputed) text.AppendLine($"- {reason}");
        }
        return text.ToString();
    }
}
