using SimNpo.Model;

namespace SimNpo.Unlearn.Objectives;

/// <summary>
/// NPO: L = −(2/β)·mean_i log σ(−β·(log πθ(y_i|x_i) − log π_ref(y_i|x_i))). The reference enters only through the
/// fixed per-sequence log-probs of the forget answers, computed once before training, so no second model is kept.
/// At θ = ref the loss is exactly (2/β)·log 2. dL/dlog πθ(y_i|x_i) = (2/N)·σ(β·(log πθ − log π_ref)).
/// </summary>
public sealed class NpoObjective(double beta, IReadOnlyList<double> referenceLogProbs) : ISequenceObjective
{
    /// <summary>The public code's β for npo when none is given.</summary>
    public const double DefaultBeta = 0.1;

    public string Name => "npo";

    public ObjectiveValue Evaluate(SequenceScores scores)
    {
        if (beta <= 0) throw new ArgumentOutOfRangeException(nameof(beta), "NPO needs β > 0");
        if (referenceLogProbs.Count != scores.Count)
            throw new ArgumentException($"{referenceLogProbs.Count} reference log-probs for a batch of {scores.Count}");
        var n = scores.Count;
        var loss = 0.0;
        var weights = new double[n];
        for (var i = 0; i < n; i++)
        {
            var ratio = scores.LogProb[i] - referenceLogProbs[i];
            loss += -(2 / beta) * Logistic.LogSigmoid(-beta * ratio) / n;
            weights[i] = 2.0 / n * Logistic.Sigmoid(beta * ratio);
        }
        return new ObjectiveValue(loss, weights);
    }
}
