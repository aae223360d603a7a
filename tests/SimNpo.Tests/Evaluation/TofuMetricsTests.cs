using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// The TOFU formulas on losses chosen as logarithms of simple fractions, so every expected value is exact arithmetic.
/// Tolerance 1e-12: a few exp/log round trips of doubles, each off by at most a few ulps of numbers below 10.
/// </summary>
public class TofuMetricsTests
{
    private const double Tolerance = 1e-12;
    private static readonly double Ln2 = Math.Log(2), Ln4 = Math.Log(4), Ln8 = Math.Log(8);

    [Test]
    public void ProbIsTheGeometricMeanTokenProbability() =>
        Assert.That(TofuMetrics.Probability(Ln2), Is.EqualTo(0.5).Within(Tolerance));

    /// <summary>p̄ = 1/2 against two perturbed answers of 1/4 each: 0.5 / (0.5 + 0.25 + 0.25) = 0.5.</summary>
    [Test]
    public void ProbAgainstPerturbedIsTheAnswersShare()
    {
        Assert.That(TofuMetrics.ProbabilityAgainstPerturbed(Ln2, [Ln4, Ln4]), Is.EqualTo(0.5).Within(Tolerance));
        Assert.That(TofuMetrics.ProbabilityAgainstPerturbed(Ln2, [Ln2, Ln2, Ln2]), Is.EqualTo(0.25).Within(Tolerance));
    }

    /// <summary>Perturbed losses ln 2 and ln 8 average ln 4 (geometric mean p̄ 1/4); against a base p̄ of 1/2, R = 2.</summary>
    [Test]
    public void TruthRatioIsTheBaseOverTheGeometricMeanOfThePerturbed()
    {
        Assert.That(TofuMetrics.TruthRatio(Ln2, [Ln2, Ln8]), Is.EqualTo(2).Within(Tolerance));
        Assert.That(TofuMetrics.TruthRatio(Ln4, [Ln2]), Is.EqualTo(0.5).Within(Tolerance));
    }

    /// <summary>
    /// R = 2, 1/2, 1. Forget: min(R, 1/R) = 1/2, 1/2, 1, mean 2/3. Elsewhere: max(0, 1 − 1/R) = 1/2, 0 (from −1), 0, mean 1/6.
    /// </summary>
    [Test]
    public void TruthRatioScoreDependsOnTheSplit()
    {
        double[] ratios = [2, 0.5, 1];
        Assert.That(TofuMetrics.TruthRatioScore(ratios, forget: true), Is.EqualTo(2.0 / 3).Within(Tolerance));
        Assert.That(TofuMetrics.TruthRatioScore(ratios, forget: false), Is.EqualTo(1.0 / 6).Within(Tolerance));
    }

    /// <summary>3 / (1 + 1/2 + 1/4) = 12/7; a zero anywhere makes the harmonic mean 0.</summary>
    [Test]
    public void HarmonicMean()
    {
        Assert.That(TofuMetrics.HarmonicMean([1, 2, 4]), Is.EqualTo(12.0 / 7).Within(Tolerance));
        Assert.That(TofuMetrics.HarmonicMean([0.5, 0, 1]), Is.Zero);
        Assert.That(() => TofuMetrics.HarmonicMean([]), Throws.ArgumentException);
    }

    /// <summary>
    /// Model utility takes the nine retain, real-author and world-fact numbers and ignores the forget split: here
    /// 1/2 (six times), 1/4 (three times) → 9 / (6·2 + 3·4) = 9/24.
    /// </summary>
    [Test]
    public void ModelUtilityIsTheHarmonicMeanOfTheNineNonForgetNumbers()
    {
        TofuSplitResult Split(string name, double prob, double rouge, double truth) => new()
        {
            Name = name, File = name + ".jsonl", BaseAnswerField = "answer", Prob = prob, RougeLRecall = rouge, TruthRatio = truth, Items = [],
        };
        TofuSplitResult[] splits = [Split("retain", 0.5, 0.5, 0.25), Split("real_authors", 0.5, 0.25, 0.5), Split("world_facts", 0.25, 0.5, 0.5),
            Split("forget", 0.01, 0.01, 0.01)];
        Assert.That(TofuReport.UtilityParts(splits).Select(p => p.Name), Is.EqualTo(new[]
        {
            "retain/prob", "retain/rouge_l_recall", "retain/truth_ratio", "real_authors/prob", "real_authors/rouge_l_recall", "real_authors/truth_ratio",
            "world_facts/prob", "world_facts/rouge_l_recall", "world_facts/truth_ratio",
        }));
        Assert.That(TofuReport.ModelUtilityOf(splits), Is.EqualTo(9.0 / 24).Within(Tolerance));
    }

    /// <summary>
    /// Identical truth-ratio samples: KS statistic 0, p-value 1. Fully separated samples of three: D = 1, and the exact
    /// two-sided p-value is the 2 of C(6, 3) = 20 orderings that separate them completely: 0.1.
    /// </summary>
    [Test]
    public void ForgetQualityIsTheKsPValueOfTheRawRatios()
    {
        Assert.That(TofuMetrics.ForgetQuality([0.5, 1, 2], [0.5, 1, 2]), Is.EqualTo(1));
        Assert.That(TofuMetrics.ForgetQuality([0.1, 0.2, 0.3], [1, 2, 3]), Is.EqualTo(0.1).Within(Tolerance));
    }
}
