namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// The TOFU formulas of SPEC.md on per-token mean losses (NLL/|y|, what TOFU calls avg_gt_loss and friends). Pure
/// functions of numbers, so they can be checked by hand.
/// </summary>
public static class TofuMetrics
{
    /// <summary>p̄ = exp(−NLL/|y|): the geometric-mean probability of the answer's tokens.</summary>
    public static double Probability(double answerLoss) => Math.Exp(-answerLoss);

    /// <summary>p̄_true / (p̄_true + Σ_k p̄_perturbed_k): real authors and world facts, where the answer competes with wrong ones.</summary>
    public static double ProbabilityAgainstPerturbed(double answerLoss, IReadOnlyList<double> perturbedLosses)
    {
        var truth = Probability(answerLoss);
        return truth / (truth + perturbedLosses.Sum(Probability));
    }

    /// <summary>R = exp(mean_k[NLL_pert_k/|y_k|] − NLL_base/|y_base|): the base answer's p̄ over the geometric mean of the perturbed ones'.</summary>
    public static double TruthRatio(double baseLoss, IReadOnlyList<double> perturbedLosses) =>
        Math.Exp(perturbedLosses.Average() - baseLoss);

    /// <summary>
    /// What a split reports of its truth ratios: on the forget set mean(min(R, 1/R)), which is 1 when the model cannot
    /// tell true from false; elsewhere mean(max(0, 1 − 1/R)), which grows as the model prefers the true answer.
    /// </summary>
    public static double TruthRatioScore(IReadOnlyList<double> ratios, bool forget) =>
        forget ? ratios.Average(r => Math.Min(r, 1 / r)) : ratios.Average(r => Math.Max(0, 1 - 1 / r));

    /// <summary>n / Σ 1/x: what model utility makes of its nine numbers; 0 when any of them is 0.</summary>
    public static double HarmonicMean(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("the harmonic mean needs at least one value", nameof(values));
        if (values.Any(v => v < 0 || double.IsNaN(v))) throw new ArgumentException("the harmonic mean needs values ≥ 0", nameof(values));
        return values.Any(v => v == 0) ? 0 : values.Count / values.Sum(v => 1 / v);
    }

    /// <summary>
    /// Forget quality: the two-sample Kolmogorov–Smirnov p-value between the raw per-item truth ratios R of the
    /// unlearned and of the retain model on the forget set (TOFU's get_forget_quality).
    /// </summary>
    public static double ForgetQuality(IReadOnlyList<double> unlearnedRatios, IReadOnlyList<double> retainRatios) =>
        KolmogorovSmirnov.TwoSamplePValue(unlearnedRatios, retainRatios);
}
