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
/// One question's per-item values, whatever layout they came from: its key in the log ("0", "1", ...); per-token mean
/// NLL (avg_loss) and probability of the answer, of the answer the truth ratio treats as true (the paraphrase on forget
/// and retain, the answer elsewhere) and of each perturbed answer; ROUGE, with the fields and texts the log holds.
/// The probabilities are the ones the log stored (open-unlearning's float32 exp), else exp(−loss).
/// </summary>
public sealed record TofuLogItem(string Index, double AnswerLoss, double AnswerProb, double BaseLoss, double BaseProb, IReadOnlyList<double> PerturbedLosses,
    IReadOnlyList<double> PerturbedProbs, double RougeLRecall, double? Rouge1Recall = null, double? RougeLF1 = null, TofuLogText? Text = null)
{
    /// <summary>From losses alone, each probability exp(−loss) in float64 (as TOFU's aggregate_eval_stat.py lines 47-51).</summary>
    public static TofuLogItem FromLosses(string index, double answerLoss, double baseLoss, IReadOnlyList<double> perturbedLosses, double rougeLRecall,
        double? rouge1Recall, double? rougeLF1, TofuLogText? text) =>
        new(index, answerLoss, Math.Exp(-answerLoss), baseLoss, Math.Exp(-baseLoss), perturbedLosses, perturbedLosses.Select(l => Math.Exp(-l)).ToArray(),
            rougeLRecall, rouge1Recall, rougeLF1, text);
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
