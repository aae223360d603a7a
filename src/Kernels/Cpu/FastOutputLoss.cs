namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="ChunkedOutputLoss"/> on the CPU: each vocabulary chunk's logits [rows, chunk] come from the packed GEMM
/// (<see cref="FastMatMul"/> on the chunk's slice of the weight) into the scratch, then every row is merged or turned
/// into its gradient in parallel by <see cref="SoftmaxRows"/>, and the backward carries the chunk's logit gradient into
/// the hidden states' and the chunk's weight gradients by two more GEMMs. The [rows, vocab] logits are never stored.
/// A row's running state between chunks is kept per row: its maximum and its label's logit (float32 logits, copied
/// exactly) and its sum of exponentials in float64.
/// </summary>
internal sealed class FastOutputLoss
{
    private float[] runningMax = [];
    private double[] runningSum = [];
    private float[] labelLogit = [];

    /// <summary>logProb[r] = (hidden[r] · weightᵀ)[labels[r]] − logSumExp[r], the log-sum-exp kept; both 0 for rows with a negative label.</summary>
    public void Forward(Memory<float> logProb, Memory<float> logSumExp, Memory<float> logitsScratch, ReadOnlyMemory<float> hidden, ReadOnlyMemory<float> weight,
        ReadOnlyMemory<int> labels, int rows, int dim, int vocab, int chunk)
    {
        ChunkedOutputLoss.CheckShapes(logitsScratch.Length, hidden.Length, weight.Length, labels.Length, logSumExp.Length, rows, dim, vocab, chunk);
        ShapeCheck.Length(logProb.Length, rows, nameof(logProb));
        ChunkedOutputLoss.CheckLabels(labels.Span, vocab);
        if (runningMax.Length < rows) (runningMax, runningSum, labelLogit) = (new float[rows], new double[rows], new float[rows]);
        var (max, sum, target) = (runningMax, runningSum, labelLogit);
        max.AsSpan(0, rows).Fill(float.NegativeInfinity);
        sum.AsSpan(0, rows).Clear();
        ForEachChunk(logitsScratch, hidden, weight, rows, dim, vocab, chunk, (logits, first, width) => Partitions.For(rows, Partitions.Rows(width), part =>
        {
            for (var r = part.Start; r < part.End; r++)
            {
                var label = labels.Span[r];
                if (label < 0) continue;
                var row = logits.Span.Slice(r * width, width);
                var (chunkMax, chunkSum) = SoftmaxRows.MaxAndSumExp(row);
                var merged = Math.Max(max[r], chunkMax);
                // exp(−∞) = 0 merges the first chunk into the empty state.
                sum[r] = sum[r] * Math.Exp(max[r] - merged) + chunkSum * Math.Exp(chunkMax - merged);
                max[r] = merged;
                if (label >= first && label < first + width) target[r] = row[label - first];
            }
        }));
        for (var r = 0; r < rows; r++)
        {
            var ignored = labels.Span[r] < 0;
            var lse = max[r] + Math.Log(sum[r]);
            logSumExp.Span[r] = ignored ? 0 : (float)lse;
            logProb.Span[r] = ignored ? 0 : (float)(target[r] - lse);
        }
    }

    /// <summary>
    /// hiddenGrad += dLogits · weight and weightGrad += dLogitsᵀ · hidden, adding, with dLogits[r] = logProbGrad[r]·(onehot(labels[r]) −
    /// softmax) recomputed chunk by chunk, 0 for ignored rows.
    /// </summary>
    public static void Backward(Memory<float> hiddenGrad, Memory<float> weightGrad, Memory<float> logitsScratch, ReadOnlyMemory<float> hidden,
        ReadOnlyMemory<float> weight, ReadOnlyMemory<float> logSumExp, ReadOnlyMemory<int> labels, ReadOnlyMemory<float> logProbGrad,
        int rows, int dim, int vocab, int chunk)
    {
        ChunkedOutputLoss.CheckShapes(logitsScratch.Length, hidden.Length, weight.Length, labels.Length, logSumExp.Length, rows, dim, vocab, chunk);
        ShapeCheck.Length(hiddenGrad.Length, rows * dim, nameof(hiddenGrad));
        ShapeCheck.Length(weightGrad.Length, vocab * dim, nameof(weightGrad));
        ShapeCheck.Length(logProbGrad.Length, rows, nameof(logProbGrad));
        ChunkedOutputLoss.CheckLabels(labels.Span, vocab);
        ForEachChunk(logitsScratch, hidden, weight, rows, dim, vocab, chunk, (logits, first, width) =>
        {
            Partitions.For(rows, Partitions.Rows(width), part =>
            {
                for (var r = part.Start; r < part.End; r++)
                {
                    var gradRow = logits.Span.Slice(r * width, width);
                    var label = labels.Span[r];
                    if (label < 0) gradRow.Clear();
                    else SoftmaxRows.Gradient(gradRow, gradRow, logSumExp.Span[r], logProbGrad.Span[r], label - first);
                }
            });
            FastMatMul.Backward(hiddenGrad, weightGrad.Slice(first * dim, width * dim), logits, hidden, weight.Slice(first * dim, width * dim), rows, dim, width);
        });
    }

    /// <summary>Computes each chunk's logits [rows, width] into the scratch, then hands them to <paramref name="useChunk"/> with the chunk's first column.</summary>
    private static void ForEachChunk(Memory<float> logitsScratch, ReadOnlyMemory<float> hidden, ReadOnlyMemory<float> weight, int rows, int dim, int vocab, int chunk,
        Action<Memory<float>, int, int> useChunk)
    {
        var chunkWidth = ChunkedOutputLoss.ChunkWidth(vocab, chunk);
        for (var first = 0; first < vocab; first += chunkWidth)
        {
            var width = Math.Min(chunkWidth, vocab - first);
            var logits = logitsScratch[..(rows * width)];
            FastMatMul.Forward(logits, hidden, weight.Slice(first * dim, width * dim), rows, dim, width);
            useChunk(logits, first, width);
        }
    }
}
