using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Objectives;

namespace SimNpo.Unlearn.Training;

/// <summary>What one micro-batch contributed: its loss terms (unscaled), the forget sequences' mean ℓ, and the tokens it ran.</summary>
public sealed record MicroBatchResult(double ForgetLoss, double? RetainLoss, double ForgetNormalisedLogProb, int Tokens);

/// <summary>
/// The loss of SPEC.md on one micro-batch, w_f·L_f + λ·L_r, run forward and backward so its gradient (times scale)
/// is added to the model's gradients. The forget term is an objective over per-sequence log-probs; the retain term
/// is the token-mean NLL of the paired retain examples or KL(π_ref ‖ πθ), over their answer tokens (answer-mean) or
/// as the public code's batchmean (<see cref="TrainingSettings.KlReductions"/>).
/// </summary>
public sealed class MicroBatchLoss<T>(TrainingSettings settings, TrainingData data, ReferenceLogProbs? reference, LlamaModel<T>? klReference)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public MicroBatchResult Run(LlamaModel<T> model, int[] forgetIndices, int[] retainIndices, double scale)
    {
        var (forgetLoss, normalised, forgetTokens) = RunForget(model, forgetIndices, settings.ForgetWeight * scale);
        if (!settings.UsesRetainTerm) return new MicroBatchResult(forgetLoss, null, normalised, forgetTokens);
        var retain = retainIndices.Select(i => data.Retain[i]).ToArray();
        var batchMean = settings.KlOverEveryPosition;
        var retainBatch = Batch(batchMean ? retain.Select(EveryPositionScored) : retain);
        double retainLoss;
        var retainScale = settings.RetainWeight * scale;
        if (settings.RetainLoss == "kl")
        {
            var model0 = klReference ?? throw new InvalidOperationException("the KL retain term needs the reference model");
            // The model averages over the scored rows; batchmean divides their sum by batch × the padded length instead.
            var paddedLength = settings.KlReduction == "batchmean-longest" ? retainBatch.Lengths.Max() : settings.MaxLength;
            var rescale = batchMean ? (double)retainBatch.ScoredCounts().Sum() / (retain.Length * paddedLength) : 1;
            var kl = model.ForwardKl(retainBatch, model0.ForwardLogProbs(retainBatch));
            kl.Backward(retainScale * rescale);
            retainLoss = rescale * kl.Value;
        }
        else
        {
            var pass = model.Forward(retainBatch);
            var value = new NegativeLogLikelihood().Evaluate(pass.Scores);
            retainLoss = value.Loss;
            pass.Backward(value.SequenceWeights.Select(w => w * retainScale).ToArray());
        }
        return new MicroBatchResult(forgetLoss, retainLoss, normalised, forgetTokens + retainBatch.Lengths.Sum());
    }

    /// <summary>The forget term in the method's own batch layout (IdkPO scores refusals and true answers together).</summary>
    private (double Loss, double NormalisedLogProb, int Tokens) RunForget(LlamaModel<T> model, int[] indices, double weight)
    {
        var method = settings.TrainingMethod;
        var batch = Batch(method.ForgetBatch(data, indices));
        var pass = model.Forward(batch);
        var scores = pass.Scores;
        var value = method.Objective(settings.Beta, settings.Gamma, method.BatchReferenceLogProbs(reference, indices), settings.GammaForm).Evaluate(scores);
        pass.Backward(value.SequenceWeights.Select(w => w * weight).ToArray());
        return (value.Loss, method.ForgetAnswerPositions(indices.Length).Average(scores.NormalisedLogProb), batch.Lengths.Sum());
    }

    private TokenBatch Batch(IEnumerable<TokenizedExample> examples) => TokenBatch.FromExamples(examples.ToArray(), settings.MaxLength);

    /// <summary>
    /// The same tokens with only the first (BOS) as prompt: every position that predicts a next token is scored, the
    /// positions the public code's logits cover for a sequence (its padding aside).
    /// </summary>
    private static TokenizedExample EveryPositionScored(TokenizedExample example)
    {
        int[] ids = [.. example.PromptIds, .. example.AnswerIds];
        return new TokenizedExample(ids[..1], ids[1..]);
    }
}
