using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// open-unlearning's gradnorm statistic (src/evals/metrics/mia/gradnorm.py at d3d7cf9, p = 2 in its configs): per item,
/// the gradient of −mean log-prob over its tokenwise tokens (every labelled token but the last) with respect to every
/// parameter, then the mean over parameter tensors of each tensor's 2-norm (not one norm over all parameters). The
/// tensors are the model's own (a tied head is the embedding, counted once, as model.parameters() counts it).
/// </summary>
public static class GradientNorms
{
    /// <summary>
    /// One forward and backward per item; overwrites the model's gradients. With a group, the items are split across its
    /// ranks (each item's norm depends on that item alone) and every rank gets every norm.
    /// </summary>
    public static double[] Compute<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, int maxLength, ICommunicator? group = null)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        ParallelItems.Map(group, examples.Count, i => Norm(model, examples[i], maxLength), ItemCodecs.Double, ("gradient norms", "items"));

    private static double Norm<T>(LlamaModel<T> model, TokenizedExample example, int maxLength) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // The last answer token that survives the cut to maxLength is the one dropped. Dropping it from the input drops
        // only its own score: no earlier position attends to it.
        var kept = Math.Min(example.AnswerIds.Count, maxLength - example.PromptIds.Count) - 1;
        // open-unlearning's mean of no tokens is NaN; an item without two answer tokens scores 0 here, as Min-K% does there.
        if (kept <= 0) return 0;
        var batch = TokenBatch.FromExamples([new TokenizedExample(example.PromptIds, example.AnswerIds.Take(kept).ToArray())], maxLength);
        var scored = batch.ScoredCounts()[0];
        if (scored == 0) return 0;
        model.ZeroGradients();
        var pass = model.Forward(batch);
        pass.Backward([-1.0 / scored]);
        return model.Layout.Entries.Average(entry => Math.Sqrt(model.Ops.SumOfSquares(model.Gradient(entry))));
    }
}
