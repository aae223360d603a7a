namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// One generation as a log keeps it: the prompt (or question), the truth, the model's text and the ROUGE values the log
/// stored, under the log's own names (muse_bench: rougeL, rougeL_recall, rouge1, rouge1_recall; open-unlearning:
/// rougeL_f1, rougeL_recall, rouge1_recall).
/// </summary>
public sealed record RougeItem(string Input, string GroundTruth, string Generation, IReadOnlyDictionary<string, double> Scores)
{
    /// <summary>ROUGE-L F1, what both codes average (muse_bench's rougeL, open-unlearning's rougeL_f1).</summary>
    public double RougeLF1 => Scores.TryGetValue("rougeL_f1", out var f1) ? f1 : Scores["rougeL"];
}

/// <summary>
/// The per-item values of one MUSE evaluation, whatever wrote it: ours, open-unlearning's MUSE_EVAL.json or a muse_bench
/// output folder. Everything a summary needs is here; nothing of it needs the model.
/// </summary>
public sealed record MuseLog
{
    /// <summary>The file or folder read, and the name of its layout.</summary>
    public required string Source { get; init; }
    public required string Layout { get; init; }
    /// <summary>Whether the log's ROUGE tokenised with the Porter stemmer (open-unlearning) or not (muse_bench, ours).</summary>
    public required bool RougeStemmer { get; init; }
    public IReadOnlyList<RougeItem>? KnowMemForget { get; init; }
    public IReadOnlyList<RougeItem>? KnowMemRetain { get; init; }
    public IReadOnlyList<RougeItem>? VerbMemForget { get; init; }
    /// <summary>Min-40% scores of privleak's forget and holdout texts.</summary>
    public MinKScores? MinK { get; init; }
    /// <summary>open-unlearning's other entries (exact_memorization, extraction_strength, mia_*), carried and re-aggregated.</summary>
    public IReadOnlyList<(string Name, System.Text.Json.Nodes.JsonObject Entry)> OtherEntries { get; init; } = [];
}
