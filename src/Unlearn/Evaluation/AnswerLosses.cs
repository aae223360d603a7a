using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Progress;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>Per-token mean NLL of each example's answer, −log πθ(y|x)/|y|: the loss every TOFU number is built from.</summary>
public static class AnswerLosses
{
    /// <summary>
    /// Batched forward passes. Examples are grouped by length so that a batch wastes little on padding; the results come
    /// back in the examples' order.
    /// </summary>
    public static double[] Compute<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, int batchSize, int maxLength)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var losses = new double[examples.Count];
        var byLength = Enumerable.Range(0, examples.Count).OrderBy(i => examples[i].Length).ToArray();
        using var progress = ProgressReporting.Start("score answers", examples.Count, "answers");
        foreach (var chunk in byLength.Chunk(batchSize))
        {
            var scores = model.Forward(TokenBatch.FromExamples(chunk.Select(i => examples[i]).ToArray(), maxLength)).Scores;
            for (var j = 0; j < chunk.Length; j++)
            {
                // TOFU would divide by zero here; an answer cut away entirely has no loss to report.
                if (scores.Length[j] == 0)
                    throw new ArgumentException($"an answer has no token left once its example is cut to {maxLength} tokens (its prompt is "
                        + $"{examples[chunk[j]].PromptIds.Count} tokens)");
                losses[chunk[j]] = -scores.NormalisedLogProb(j);
            }
            progress.Advance(chunk.Length);
        }
        return losses;
    }
}
