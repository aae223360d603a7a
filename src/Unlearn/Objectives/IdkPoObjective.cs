using SimNpo.Model;

namespace SimNpo.Unlearn.Objectives;

/// <summary>
/// IdkPO, DPO with "I don't know" as the preferred answer, over a combined batch of 2N sequences: the first N are the
/// refusals w_i, the next N the true forget answers l_i to the same questions in the same order (one batch, so one
/// forward and one backward). referenceLogProbs has the same 2N layout.
/// L = −(2/β)·mean_i log σ(β·m_i) with the margin m_i = (log πθ(w_i) − log πθ(l_i)) − (log π_ref(w_i) − log π_ref(l_i)).
/// At θ = ref every margin is 0 and the loss is exactly (2/β)·log 2. dL/dm_i = −(2/N)·σ(−β·m_i), so the refusal gets
/// that weight and the true answer its negative: a pair whose margin is already large stops pulling.
/// </summary>
public sealed class IdkPoObjective(double beta, IReadOnlyList<double> referenceLogProbs) : ISequenceObjective
{
    public string Name => "idkpo";

    public ObjectiveValue Evaluate(SequenceScores scores)
    {
        if (beta <= 0) throw new ArgumentOutOfRangeException(nameof(beta), "IdkPO needs β > 0");
        if (scores.Count == 0 || scores.Count % 2 != 0)
            throw new ArgumentException($"IdkPO needs a batch of refusals then true answers (an even count), got {scores.Count} sequences");
        if (referenceLogProbs.Count != scores.Count)
            throw new ArgumentException($"{referenceLogProbs.Count} reference log-probs for a batch of {scores.Count}");
        var n = scores.Count / 2;
        var loss = 0.0;
        var weights = new double[2 * n];
        for (var i = 0; i < n; i++)
        {
            var margin = scores.LogProb[i] - scores.LogProb[n + i] - (referenceLogProbs[i] - referenceLogProbs[n + i]);
            loss += -(2 / beta) * Logistic.LogSigmoid(beta * margin) / n;
            var pull = 2.0 / n * Logistic.Sigmoid(-beta * margin);
            weights[i] = -pull;
            weights[n + i] = pull;
        }
        return new ObjectiveValue(loss, weights);
    }
}
