using SimNpo.Model;
using SimNpo.Unlearn.Objectives;

namespace SimNpo.Tests.Unlearn;

public class ObjectiveTests
{
    private static readonly SequenceScores Scores = new([-3.5, -20.25, -0.75], [4, 9, 2]);

    private static IEnumerable<ISequenceObjective> Objectives() =>
    [
        new NegativeLogLikelihood(),
        new NegativeLogLikelihood(ascend: true),
        new SimNpoObjective(beta: 2.5, gamma: 0.5),
        new SimNpoObjective(beta: 4.5, gamma: 0),
        new NpoObjective(beta: 0.1, referenceLogProbs: [-4.0, -18.0, -1.5]),
    ];

    /// <summary>
    /// Central differences in float64 with step 1e-5: truncation error ~h²·|L'''| ≈ 1e-10 and rounding ~1e-16/h ≈ 1e-11,
    /// so 1e-8 absolute leaves a wide margin and still catches any wrong factor.
    /// </summary>
    [TestCaseSource(nameof(Objectives))]
    public void WeightsAreTheDerivativeOfTheLoss(ISequenceObjective objective) => AssertWeightsAreDerivatives(objective, Scores);

    internal static void AssertWeightsAreDerivatives(ISequenceObjective objective, SequenceScores scores)
    {
        var value = objective.Evaluate(scores);
        const double h = 1e-5;
        for (var i = 0; i < scores.Count; i++)
        {
            double LossAt(double delta)
            {
                var shifted = (double[])scores.LogProb.Clone();
                shifted[i] += delta;
                return objective.Evaluate(scores with { LogProb = shifted }).Loss;
            }
            var numeric = (LossAt(h) - LossAt(-h)) / (2 * h);
            Assert.That(value.SequenceWeights[i], Is.EqualTo(numeric).Within(1e-8), $"{objective.Name}, sequence {i}");
        }
    }

    [Test]
    public void LossesFollowTheSpecFormulas()
    {
        // Token mean NLL: (3.5 + 20.25 + 0.75) / 15.
        Assert.That(new NegativeLogLikelihood().Evaluate(Scores).Loss, Is.EqualTo(24.5 / 15).Within(1e-15));
        Assert.That(new NegativeLogLikelihood(ascend: true).Evaluate(Scores).Loss, Is.EqualTo(-24.5 / 15).Within(1e-15));
        // SimNPO, β 2.5, γ 0.5: −(2/β)·mean log σ(−β·ℓ − γ), ℓ = (−0.875, −2.25, −0.375).
        double Softplus(double x) => Math.Log(1 + Math.Exp(x));
        var expected = (2 / 2.5) * (Softplus(-(2.5 * 0.875 - 0.5)) + Softplus(-(2.5 * 2.25 - 0.5)) + Softplus(-(2.5 * 0.375 - 0.5))) / 3;
        Assert.That(new SimNpoObjective(2.5, 0.5).Evaluate(Scores).Loss, Is.EqualTo(expected).Within(1e-14));
    }

    [Test]
    public void NpoStartsAtTwoOverBetaLogTwo()
    {
        foreach (var beta in new[] { 0.1, 1.0, 2.5 })
            Assert.That(new NpoObjective(beta, Scores.LogProb).Evaluate(Scores).Loss, Is.EqualTo(2 / beta * Math.Log(2)).Within(1e-12));
    }

    [Test]
    public void SimNpoWeightFadesForForgottenSequences()
    {
        var forgotten = new SequenceScores([-400.0, -1.0], [10, 10]);
        var weights = new SimNpoObjective(2.5, 0).Evaluate(forgotten).SequenceWeights;
        // σ(2.5·(−40)) ≈ 4e-44 against σ(−0.25) ≈ 0.44.
        Assert.That(weights[0], Is.LessThan(1e-40));
        Assert.That(weights[1], Is.EqualTo(2.0 / 2 * (1 / (1 + Math.Exp(0.25))) / 10).Within(1e-15));
    }
}
