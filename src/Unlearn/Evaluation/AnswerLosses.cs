using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>Per-token mean NLL of each example's answer, −log πθ(y|x)/|y|: the loss every TOFU number is built from.</summary>
public static class AnswerLosses
{
    /// <summary>
    /// Batched forward passes. Examples are grouped by length so that a batch wastes little on padding; the results come
    /// back in the examples' order. With a group, the batches are split across its ranks (<see cref="ParallelItems"/>): each
    /// batch is the one a single process forms, so every loss is the same bits for any number of ranks.
    /// </summary>
    public static double[] Compute<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, int batchSize, int maxLength,
        ICommunicator? group = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var batches = Enumerable.Range(0, examples.Count).OrderBy(i => examples[i].Length).Chunk(batchSize).ToArray();
        return ParallelItems.MapBatches(group, examples.Count, batches, chunk =>
        {
            var scores = model.Forward(TokenBatch.FromExamples(chunk.Select(i => examples[i]).ToArray(), maxLength)).Scores;
            return Enumerable.Range(0, chunk.Length).Select(j =>
            {
                // TOFU would divide by zero here; an answer cut away entirely has no loss to report.
                if (scores.Length[j] == 0)
                    throw new ArgumentException($"an answer has no token left once its example is cut to {maxLength} tokens (its prompt is "
                        + $"{examples[chunk[j]].PromptIds.Count} tokens)");
                return -scores.NormalisedLogProb(j);
            }).ToArray();
        }, ItemCodecs.Double, ("score answers", "batches"));
    }
}
