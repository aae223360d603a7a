using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Progress;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>The log-prob of every scored token, per sequence: what Min-K% ranks (the model itself returns only sums).</summary>
public static class TokenLogProbs
{
    public static double[][] Compute<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, int batchSize, int maxLength)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var result = new double[examples.Count][];
        var offset = 0;
        using var progress = ProgressReporting.Start("score texts", examples.Count, "texts");
        foreach (var chunk in examples.Chunk(batchSize))
        {
            var batch = TokenBatch.FromExamples(chunk, maxLength);
            var pass = model.Forward(batch);
            var scores = pass.Scores;
            // The scored tokens come in row order: sequence by sequence, position by position.
            var tokens = pass.TokenLogProbs.ToArray();
            var row = 0;
            for (var b = 0; b < batch.Batch; b++)
            {
                result[offset + b] = tokens[row..(row + scores.Length[b])].Select(double.CreateTruncating).ToArray();
                row += scores.Length[b];
            }
            offset += batch.Batch;
            progress.Advance(batch.Batch);
        }
        return result;
    }
}
