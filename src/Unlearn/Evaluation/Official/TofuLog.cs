namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>Which evaluation code wrote a TOFU log; each layout is read by its own reader and aggregated by its code's formulas.</summary>
public enum TofuLogLayout
{
    /// <summary>Our report.json (`simnpo eval tofu`).</summary>
    SimNpo,
    /// <summary>open-unlearning's TOFU_EVAL.json.</summary>
    OpenUnlearning,
    /// <summary>locuslab/tofu's eval_log_aggregated.json (its four eval_*.json merged).</summary>
    Locuslab,
}

/// <summary>The texts an item's ROUGE was scored on: the prompt, the model's greedy answer and the reference answer.</summary>
public sealed record TofuLogText(string Input, string Generation, string GroundTruth);

/// <summary>
/// One question's per-item values, whatever layout they came from. Losses are per-token mean NLL (avg_loss); the
/// probabilities are the ones the log stored where it stored them (open-unlearning's float32 exp), else exp(−loss).
/// </summary>
public sealed record TofuLogItem
{
    /// <summary>The log's key for the item ("0", "1", ...), kept for the layout written back.</summary>
    public required string Index { get; init; }
    public required double AnswerLoss { get; init; }
    public required double AnswerProb { get; init; }
    /// <summary>The answer the truth ratio treats as true: the paraphrase on forget and retain, the answer elsewhere.</summary>
    public required double BaseLoss { get; init; }
    public required double BaseProb { get; init; }
    public required IReadOnlyList<double> PerturbedLosses { get; init; }
    public required IReadOnlyList<double> PerturbedProbs { get; init; }
    public required double RougeLRecall { get; init; }
    /// <summary>Absent where the log did not store it and has no texts to compute it from.</summary>
    public double? Rouge1Recall { get; init; }
    public double? RougeLF1 { get; init; }
    public TofuLogText? Text { get; init; }
}

/// <summary>One split of a log under open-unlearning's prefix: forget, retain, ra (real authors) or wf (world facts).</summary>
public sealed record TofuLogSplit(string Prefix, bool HasParaphrase, IReadOnlyList<TofuLogItem> Items)
{
    public const string Forget = "forget";
    public const string Retain = "retain";
    public const string RealAuthors = "ra";
    public const string WorldFacts = "wf";

    /// <summary>In the order model utility lists them (open-unlearning's model_utility.yaml), forget last.</summary>
    public static readonly IReadOnlyList<string> Prefixes = [Retain, RealAuthors, WorldFacts, Forget];

    public static bool HasParaphraseFor(string prefix) => prefix is Forget or Retain;

    /// <summary>open-unlearning's names its truth ratio "forget_truth_ratio" on the forget split, "{prefix}_Truth_Ratio" elsewhere.</summary>
    public static string TruthRatioName(string prefix) => prefix == Forget ? "forget_truth_ratio" : $"{prefix}_Truth_Ratio";
}

/// <summary>A TOFU evaluation log read from a file: its four splits' per-item values.</summary>
public sealed record TofuLog(string Path, TofuLogLayout Layout, IReadOnlyDictionary<string, TofuLogSplit> Splits)
{
    /// <summary>The forget set the log names (our reports do; open-unlearning's and TOFU's logs do not).</summary>
    public string? ForgetSet { get; init; }

    public TofuLogSplit Forget => Splits[TofuLogSplit.Forget];

    /// <summary>The forget set named, else the one the forget split's item count identifies.</summary>
    public string? ForgetSetOrInferred => ForgetSet ?? ForgetSetOfCount(Forget.Items.Count);

    /// <summary>forget01/05/10 have 40/200/400 questions; TOFU's original logs cap forget10 at 300.</summary>
    public static string? ForgetSetOfCount(int count) => count switch { 40 => "forget01", 200 => "forget05", 300 or 400 => "forget10", _ => null };
}
