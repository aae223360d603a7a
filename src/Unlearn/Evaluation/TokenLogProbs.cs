using System.Numerics;
using SimNpo.Model;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>The log-prob of every scored token, per sequence: what Min-K% ranks (the model itself returns only sums).</summary>
public static class TokenLogProbs
{
    public static double[][] Compute<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, int batchSize, int maxLength)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var vocab = model.Config.VocabSize;
        var result = new double[examples.Count][];
        var offset = 0;
        foreach (var chunk in examples.Chunk(batchSize))
        {
            var batch = TokenBatch.FromExamples(chunk, maxLength);
            model.Forward(batch);
            // ScoredLogits holds the scored rows in row order: sequence by sequence, position by position.
            var logits = model.ScoredLogits.ToArray();
            var row = 0;
            for (var b = 0; b < batch.Batch; b++)
            {
                var values = new List<double>();
                for (var t = 0; t < batch.SequenceLength; t++)
                {
                    var target = batch.Targets[b * batch.SequenceLength + t];
                    if (target < 0) continue;
                    values.Add(LogSoftmaxAt(logits.AsSpan(row++ * vocab, vocab), target));
                }
                result[offset + b] = [.. values];
            }
            offset += batch.Batch;
        }
        return result;
    }

    /// <summary>log softmax(logits)[label] in double: logit minus the log-sum-exp, shifted by the maximum.</summary>
    private static double LogSoftmaxAt<T>(ReadOnlySpan<T> logits, int label) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var max = double.NegativeInfinity;
        foreach (var logit in logits) max = Math.Max(max, double.CreateTruncating(logit));
        var sum = 0.0;
        foreach (var logit in logits) sum += Math.Exp(double.CreateTruncating(logit) - max);
        return double.CreateTruncating(logits[label]) - max - Math.Log(sum);
    }
}
