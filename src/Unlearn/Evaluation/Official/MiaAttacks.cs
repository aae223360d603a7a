using System.Globalization;
using System.Text.Json.Nodes;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// What each of open-unlearning's attacks knows about one set (forget or holdout), item by item: the token statistics
/// of the evaluated model, the scored text (zlib), and where measured the gradient norms and a reference model's losses.
/// </summary>
public sealed record MiaSetStatistics(IReadOnlyList<TokenStatistics> Tokens, IReadOnlyList<string> Texts, IReadOnlyList<double>? GradientNorms = null,
    IReadOnlyList<double>? ReferenceLosses = null)
{
    public int Count => Tokens.Count;
}

/// <summary>
/// open-unlearning's membership-inference attacks and their AUC (locuslab/open-unlearning d3d7cf9, src/evals/metrics/mia/).
/// Every score is signed like a loss: higher means less likely a member. The AUC labels forget items 0 and holdout items
/// 1 (mia/utils.py mia_auc, sklearn roc_auc_score): it is 1 when every forget item looks more like a member than every
/// holdout item, ties counting half.
/// </summary>
public static class MiaAttacks
{
    public const string Loss = "mia_loss";
    public const string Zlib = "mia_zlib";
    public const string MinK = "mia_min_k";
    public const string MinKPlusPlus = "mia_min_k_plus_plus";
    public const string GradNorm = "mia_gradnorm";
    public const string Reference = "mia_reference";

    /// <summary>k of Min-K% and Min-K%++ in configs/eval/{tofu,muse}_metrics/mia_min_k*.yaml.</summary>
    public const double DefaultK = 0.4;

    /// <summary>Min-K% (mia/min_k.py) over the tokenwise tokens; 0 for an item without any.</summary>
    public static double MinKScore(TokenStatistics item, double k) =>
        item.Tokenwise.Count == 0 ? 0 : MinKProbability.Score(item.Tokenwise.LogProbs, k);

    /// <summary>
    /// Min-K%++ (mia/min_k_plus_plus.py): each tokenwise token's (log p − μ)/σ with the vocabulary's μ and σ² at that
    /// position (σ² clamped at 1e-6), then −mean of the lowest ⌊k·n⌋ (at least one); 0 for an item without tokens.
    /// </summary>
    public static double MinKPlusPlusScore(TokenStatistics item, double k)
    {
        var tokens = item.Tokenwise;
        if (tokens.Count == 0) return 0;
        var scores = Enumerable.Range(0, tokens.Count)
            .Select(t => (tokens.LogProbs[t] - tokens.VocabMean[t]) / Math.Sqrt(Math.Max(tokens.VocabVariance[t], 1e-6))).ToArray();
        return MinKProbability.Score(scores, k);
    }

    /// <summary>Each attack that the statistics allow, with its per-item scores on one set.</summary>
    public static IEnumerable<(string Name, double[] Scores)> Scores(MiaSetStatistics set, double k)
    {
        var losses = set.Tokens.Select(t => t.AverageLoss).ToArray();
        yield return (Loss, losses);
        yield return (Zlib, losses.Select((loss, i) => loss / ZlibLength.Of(set.Texts[i])).ToArray());
        yield return (MinK, set.Tokens.Select(t => MinKScore(t, k)).ToArray());
        yield return (MinKPlusPlus, set.Tokens.Select(t => MinKPlusPlusScore(t, k)).ToArray());
        if (set.GradientNorms is { } norms) yield return (GradNorm, norms.ToArray());
        if (set.ReferenceLosses is { } reference) yield return (Reference, losses.Select((loss, i) => loss - reference[i]).ToArray());
    }

    /// <summary>roc_auc_score with forget labelled 0 and holdout 1: the holdout items are the positive class.</summary>
    public static double Auc(IReadOnlyList<double> forget, IReadOnlyList<double> holdout) => RocAuc.Compute(holdout, forget);

    /// <summary>{"forget": {...}, "holdout": {...}, "auc": a, "agg_value": a}, each side {"agg_value": mean, "value_by_index": {"i": {"score"}}}.</summary>
    public static JsonObject Entry(IReadOnlyList<double> forget, IReadOnlyList<double> holdout)
    {
        var auc = Auc(forget, holdout);
        return new JsonObject { ["forget"] = Side(forget), ["holdout"] = Side(holdout), ["auc"] = auc, ["agg_value"] = auc };
    }

    /// <summary>{"agg_value": mean, "value_by_index": {"0": {"score": s}, ...}}; a null score is stored as None is.</summary>
    public static JsonObject Side(IReadOnlyList<double?> scores)
    {
        var byIndex = new JsonObject();
        for (var i = 0; i < scores.Count; i++) byIndex[i.ToString(CultureInfo.InvariantCulture)] = new JsonObject { ["score"] = scores[i] };
        var present = scores.OfType<double>().ToArray();
        return new JsonObject { ["agg_value"] = present.Length > 0 ? present.Average() : null, ["value_by_index"] = byIndex };
    }

    private static JsonObject Side(IReadOnlyList<double> scores) => Side(scores.Select(s => (double?)s).ToArray());

    /// <summary>
    /// open-unlearning's privleak (src/evals/metrics/privacy.py): the relative difference of 1 − AUC against the retain
    /// model's 1 − AUC, in percent, with its 1e-10 in the denominator. Its configs compare mia_min_k AUCs and take 0.5
    /// as the retain model's AUC when no retain logs are given (ref_value in tofu_metrics/privleak.yaml).
    /// </summary>
    public static double PrivLeak(double auc, double retainAuc) => ((1 - auc) - (1 - retainAuc)) / ((1 - retainAuc) + 1e-10) * 100;

    /// <summary>privleak.yaml's ref_value: the retain AUC open-unlearning assumes without retain logs.</summary>
    public const double DefaultRetainAuc = 0.5;
}
