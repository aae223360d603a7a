using SimNpo.Model;
using SimNpo.Unlearn.Objectives;

namespace SimNpo.Tests.Unlearn;

public class IdkPoObjectiveTests
{
    // Two refusals, then the two true answers to the same questions.
    private static readonly SequenceScores Scores = new([-6.0, -9.5, -12.25, -3.0], [5, 7, 11, 4]);
    private static readonly double[] Reference = [-7.5, -8.0, -10.0, -2.5];

    /// <summary>
    /// Central differences in float64 with step 1e-5: truncation ~h²·|L'''| ≲ 1e-10 (|L'''| ≤ 2β² here), rounding
    /// ~1e-16·|L|/h ≈ 1e-11, so 1e-8 absolute is a wide margin that still catches any wrong factor or sign.
    /// </summary>
    [TestCase(0.1)]
    [TestCase(1.0)]
    [TestCase(2.5)]
    public void WeightsAreTheDerivativeOfTheLoss(double beta)
    {
        var objective = new IdkPoObjective(beta, Reference);
        ObjectiveTests.AssertWeightsAreDerivatives(objective, Scores);
        var value = objective.Evaluate(Scores);
        // A refusal is pulled up exactly as hard as its true answer is pushed down.
        Assert.That(value.SequenceWeights[0], Is.EqualTo(-value.SequenceWeights[2]));
        Assert.That(value.SequenceWeights[1], Is.EqualTo(-value.SequenceWeights[3]));
    }

    [Test]
    public void LossFollowsTheSpecFormula()
    {
        // Margins: (−6 + 12.25) − (−7.5 + 10) = 3.75 and (−9.5 + 3) − (−8 + 2.5) = −1; β = 1.
        double Softplus(double x) => Math.Log(1 + Math.Exp(x));
        var expected = 2.0 * (Softplus(-3.75) + Softplus(1.0)) / 2;
        Assert.That(new IdkPoObjective(1.0, Reference).Evaluate(Scores).Loss, Is.EqualTo(expected).Within(1e-14));
    }

    [Test]
    public void StartsAtTwoOverBetaLogTwo()
    {
        foreach (var beta in new[] { 0.1, 1.0, 2.5 })
        {
            var value = new IdkPoObjective(beta, Scores.LogProb).Evaluate(Scores);
            Assert.That(value.Loss, Is.EqualTo(2 / beta * Math.Log(2)).Within(1e-12));
            // σ(0) = 1/2, N = 2: every weight is ±(2/2)·(1/2).
            Assert.That(value.SequenceWeights, Is.EqualTo(new[] { -0.5, -0.5, 0.5, 0.5 }));
        }
    }

    [Test]
    public void RefusesAnOddOrMismatchedBatch()
    {
        var odd = new SequenceScores([-1.0, -2.0, -3.0], [1, 1, 1]);
        Assert.Throws<ArgumentException>(() => new IdkPoObjective(1, [-1.0, -2.0, -3.0]).Evaluate(odd));
        Assert.Throws<ArgumentException>(() => new IdkPoObjective(1, [-1.0, -2.0]).Evaluate(Scores));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdkPoObjective(0, Reference).Evaluate(Scores));
    }
}
