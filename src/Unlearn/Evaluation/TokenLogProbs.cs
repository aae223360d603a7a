using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>The log-prob of every scored token, per sequence: what Min-K% ranks (the model itself returns only sums).</summary>
public static class TokenLogProbs
{
    /// <summary>Per example, in order; with a group, the batches (those of one process) are split across its ranks.</summary>
    public static double[][] Compute<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, int batchSize, int maxLength,
        ICommunicator? group = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var batches = examples.Chunk(batchSize).ToArray();
        return ParallelItems.Map(group, batches.Length, b =>
        {
            var batch = TokenBatch.FromExamples(batches[b], maxLength);
            var pass = model.Forward(batch);
            var scores = pass.Scores;
            // The scored tokens come in row order: sequence by sequence, position by position.
            var tokens = pass.TokenLogProbs.ToArray();
            var rows = new double[batch.Batch][];
            var row = 0;
            for (var s = 0; s < batch.Batch; s++)
            {
                rows[s] = tokens[row..(row + scores.Length[s])].Select(double.CreateTruncating).ToArray();
                row += scores.Length[s];
            }
            return rows;
        }, ItemCodecs.DoubleArrays, ("score texts", "batches")).SelectMany(rows => rows).ToArray();
    }
}
