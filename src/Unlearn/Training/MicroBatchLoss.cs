using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Objectives;

namespace SimNpo.Unlearn.Training;

/// <summary>What one micro-batch contributed: its loss terms (unscaled), the forget sequences' mean ℓ, and the tokens it ran.</summary>
public sealed record MicroBatchResult(double ForgetLoss, double? RetainLoss, double ForgetNormalisedLogProb, int Tokens);

/// <summary>
/// The loss of SPEC.md on one micro-batch, w_f·L_f + λ·L_r, run forward and backward so its gradient (times scale)
/// is added to the model's gradients. The forget term is an objective over per-sequence log-probs; the retain term
/// is the token-mean NLL of the paired retain examples or KL(π_ref ‖ πθ) over their tokens.
/// </summary>
public sealed class MicroBatchLoss<T>(TrainingSettings settings, TrainingData data, ReferenceLogProbs? reference, LlamaModel<T>? klReference)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public MicroBatchResult Run(LlamaModel<T> model, int[] forgetIndices, int[] retainIndices, double scale)
    {
        var (forgetLoss, normalised, forgetTokens) = RunForget(model, forgetIndices, settings.ForgetWeight * scale);
        if (!settings.UsesRetainTerm) return new MicroBatchResult(forgetLoss, null, normalised, forgetTokens);
        var retainBatch = Batch(retainIndices.Select(i => data.Retain[i]));
        double retainLoss;
        var retainScale = settings.RetainWeight * scale;
        if (settings.RetainLoss == "kl")
        {
            var model0 = klReference ?? throw new InvalidOperationException("the KL retain term needs the reference model");
            retainLoss = model.ForwardKl(retainBatch, model0.ForwardLogProbs(retainBatch));
            model.BackwardKl(retainScale);
        }
        else
        {
            var value = new NegativeLogLikelihood().Evaluate(model.Forward(retainBatch));
            retainLoss = value.Loss;
            model.Backward(value.SequenceWeights.Select(w => w * retainScale).ToArray());
        }
        return new MicroBatchResult(forgetLoss, retainLoss, normalised, forgetTokens + retainBatch.Lengths.Sum());
    }

    private (double Loss, double NormalisedLogProb, int Tokens) RunForget(LlamaModel<T> model, int[] indices, double weight)
    {
        var idk = settings.Method == "idkpo";
        // IdkPO scores the refusals and the true answers of the same questions in one batch: [w_1..w_N, l_1..l_N].
        var examples = idk ? indices.Select(i => data.Refusals![i]).Concat(indices.Select(i => data.Forget[i])) : indices.Select(i => data.Forget[i]);
        var batch = Batch(examples);
        var scores = model.Forward(batch);
        var value = Objective(indices).Evaluate(scores);
        model.Backward(value.SequenceWeights.Select(w => w * weight).ToArray());
        var forgetSequences = Enumerable.Range(idk ? indices.Length : 0, indices.Length);
        return (value.Loss, forgetSequences.Average(scores.NormalisedLogProb), batch.Lengths.Sum());
    }

    /// <summary>The forget term: the objectives <see cref="ObjectiveFactory"/> names, plus the two that only training has.</summary>
    private ISequenceObjective Objective(int[] indices) => settings.Method switch
    {
        "graddiff" => new NegativeLogLikelihood(ascend: true),
        "idkpo" => new IdkPoObjective(settings.EffectiveBeta, [.. indices.Select(i => reference!.Refusals![i]), .. indices.Select(i => reference!.Forget[i])]),
        var name => ObjectiveFactory.Create(name, settings.EffectiveBeta, settings.Gamma, name == "npo" ? indices.Select(i => reference!.Forget[i]).ToArray() : null),
    };

    private TokenBatch Batch(IEnumerable<TokenizedExample> examples) => TokenBatch.FromExamples(examples.ToArray(), settings.MaxLength);
}
