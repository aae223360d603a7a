using SimNpo.Model;

namespace SimNpo.Unlearn.Objectives;

/// <summary>
/// SimNPO: L = −(2/β)·mean_i log σ(−(β/|y_i|)·log πθ(y_i|x_i) − γ), no reference model. The margin γ sits inside σ as
/// the paper writes it; the public code's form (β·γ) reaches here already multiplied (<see cref="GammaForm"/>). With ℓ_i the length-normalised log-prob,
/// dL/dℓ_i = (2/N)·σ(β·ℓ_i + γ), so dL/dlog πθ(y_i|x_i) = that divided by |y_i|: a sequence already forgotten gets a
/// weight near 0, and long and short answers are weighted alike.
/// </summary>
public sealed class SimNpoObjective(double beta, double gamma) : ISequenceObjective
{
    /// <summary>The public code's β for simnpo when none is given.</summary>
    public const double DefaultBeta = 2.5;

    public string Name => "simnpo";

    public ObjectiveValue Evaluate(SequenceScores scores)
    {
        if (beta <= 0) throw new ArgumentOutOfRangeException(nameof(beta), "SimNPO needs β > 0");
        var n = scores.Count;
        var loss = 0.0;
        var weights = new double[n];
        for (var i = 0; i < n; i++)
        {
            if (scores.Length[i] == 0) throw new ArgumentException($"sequence {i} has no scored answer tokens");
            var normalised = scores.NormalisedLogProb(i);
            loss += -(2 / beta) * Logistic.LogSigmoid(-beta * normalised - gamma) / n;
            weights[i] = 2.0 / n * Logistic.Sigmoid(beta * normalised + gamma) / scores.Length[i];
        }
        return new ObjectiveValue(loss, weights);
    }
}
