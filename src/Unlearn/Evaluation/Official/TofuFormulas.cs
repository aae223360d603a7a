namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>How the perturbed answers enter the truth ratio; the official codes disagree (docs/fidelity.md).</summary>
public enum TruthRatioMean
{
    /// <summary>
    /// r = exp(−mean_k loss_k) / exp(−loss_true): the geometric mean of the perturbed answers' probabilities. Unlearn-Simple
    /// TOFU/utils.py (f1a355d) lines 121-130, locuslab/tofu aggregate_eval_stat.py (bdc209e) lines 60-72, open-unlearning
    /// src/evals/metrics/memorization.py (d3d7cf9) lines 156-164.
    /// </summary>
    Geometric,
    /// <summary>r = mean_k exp(−loss_k) / exp(−loss_true): locuslab/tofu utils.py (bdc209e) lines 116-133, what its training runs log.</summary>
    Arithmetic,
}

/// <summary>
/// The arithmetic of one official aggregation. open-unlearning guards its divisions with 1e-10
/// (memorization.py lines 69, 115, 164); TOFU's aggregate_eval_stat.py does not. Each layout is aggregated with the
/// formulas of the code that wrote it, so the stored summaries come back to rounding.
/// </summary>
public sealed record TofuFormulas(TruthRatioMean Mean, double Epsilon)
{
    public const double OpenUnlearningEpsilon = 1e-10;

    public static TofuFormulas For(TofuLogLayout layout, TruthRatioMean mean) =>
        new(mean, layout == TofuLogLayout.Locuslab ? 0 : OpenUnlearningEpsilon);

    /// <summary>r = false/true, what open-unlearning logs as each item's truth-ratio score (1/R of SPEC.md).</summary>
    public double FalseOverTrue(TofuLogItem item) =>
        (Mean == TruthRatioMean.Geometric ? Math.Exp(-item.PerturbedLosses.Average()) : item.PerturbedLosses.Average(l => Math.Exp(-l)))
        / (Math.Exp(-item.BaseLoss) + Epsilon);

    /// <summary>Forget: mean(min(r, 1/r)), 1 when true and false are alike; elsewhere mean(max(0, 1 − r)).</summary>
    public double TruthRatioScore(IReadOnlyList<double> ratios, bool forget) =>
        forget ? ratios.Average(r => Math.Min(r, 1 / (r + Epsilon))) : ratios.Average(r => Math.Max(0, 1 - r));

    /// <summary>Real authors and world facts: the answer's probability against the perturbed ones' (memorization.py lines 62-69).</summary>
    public double NormalisedProb(TofuLogItem item) => item.AnswerProb / (item.AnswerProb + item.PerturbedProbs.Sum() + Epsilon);

    /// <summary>What the report names as the formula used.</summary>
    public string Describe() => (Mean == TruthRatioMean.Geometric
            ? "geometric: r = exp(-mean_k loss_pert_k) / exp(-loss_true)"
            : "arithmetic: r = mean_k exp(-loss_pert_k) / exp(-loss_true)")
        + "; forget: mean(min(r, 1/r)); retain, real authors, world facts: mean(max(0, 1 - r))"
        + (Epsilon > 0 ? $"; divisions guarded by +{Epsilon:G} as open-unlearning" : "; no guard, as TOFU's aggregate_eval_stat.py");

    public static TruthRatioMean ParseMean(string name) => name switch
    {
        "geometric" => TruthRatioMean.Geometric,
        "arithmetic" => TruthRatioMean.Arithmetic,
        _ => throw new ArgumentException($"truth-ratio mean must be geometric or arithmetic, not '{name}'"),
    };
}
