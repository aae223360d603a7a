using SimNpo.Kernels;

namespace SimNpo.Model;

/// <summary>
/// The KL retain head: KL(π_ref ‖ πθ) over the scored tokens of a retain batch, mean over those tokens, in place of the
/// log-prob at the labels. The frozen reference model runs the same batch through <see cref="ForwardLogProbs"/>; its
/// log-probs stay on the device, in its own activations, as the targets of <see cref="ForwardKl"/>.
/// The per-row slots of the chunked output loss (TokenLogProbs, TokenLogProbGrad) hold the KL head's per-row values.
/// </summary>
public sealed partial class LlamaModel<T>
{
    /// <summary>
    /// Runs the batch forward and turns the scored rows' logits into log-probs in place: [scored rows, vocab] in row order,
    /// valid until this model's next forward.
    /// </summary>
    public View<T> ForwardLogProbs(TokenBatch batch)
    {
        var logits = ForwardToLogits(batch).Logits;
        Ops.LogSoftmax(logits, logits, Config.VocabSize);
        return logits;
    }

    /// <summary>
    /// Runs the batch forward to (1/S)·Σ over its S scored rows of KL(π_ref ‖ πθ), with the reference's log-probs from
    /// <see cref="ForwardLogProbs"/> of another model on the same batch; its backward runs from the pass
    /// (<see cref="KlPass.Backward"/>), before the reference model's next forward overwrites those log-probs.
    /// </summary>
    public KlPass ForwardKl(TokenBatch batch, View<T> referenceLogProbs)
    {
        if (_activationBuffers.Holds(referenceLogProbs))
            throw new ArgumentException("the reference log-probs live in this model's activations, which the forward overwrites", nameof(referenceLogProbs));
        var activations = ForwardToLogits(batch);
        if (activations.ScoredRows == 0) throw new ArgumentException("the batch has no scored tokens");
        var expected = activations.ScoredRows * Config.VocabSize;
        if (referenceLogProbs.Length != expected)
            throw new ArgumentException(
                $"{referenceLogProbs.Length} reference log-probs for {activations.ScoredRows} scored rows of {Config.VocabSize} (expected {expected})",
                nameof(referenceLogProbs));
        Ops.KlDivergence(activations.TokenLogProbs, activations.LogitsLogSumExp, activations.Logits, referenceLogProbs, Config.VocabSize);
        var kl = activations.TokenLogProbs.ToArray().Sum(double.CreateTruncating) / activations.ScoredRows;
        return new KlPass(this, activations, referenceLogProbs, kl);
    }

    /// <summary>
    /// The backward of <see cref="ForwardKl"/>, from its pass (<see cref="KlPass.Backward"/>): the gradient of weight·KL,
    /// each scored row's logits getting (weight/S)·(softmax − p_ref), written over the logits.
    /// </summary>
    private void BackwardKl(Activations<T> activations, View<T> targets, double weight)
    {
        var rowWeight = T.CreateTruncating(weight / activations.ScoredRows);
        activations.TokenLogProbGrad.CopyFrom(Enumerable.Repeat(rowWeight, activations.ScoredRows).ToArray());
        Ops.KlDivergenceBackward(activations.Logits, activations.Logits, activations.LogitsLogSumExp, targets, activations.TokenLogProbGrad, Config.VocabSize);
        BackwardFromLogits(activations);
    }
}
