namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="ChunkedOutputLoss"/> on the CPU: each vocabulary chunk's logits [rows, chunk] come from the packed GEMM
/// (<see cref="FastMatMul"/> on the chunk's slice of the weight) into the scratch, then every row is merged or turned
/// into its gradient in parallel by <see cref="SoftmaxRows"/>, and the backward carries the chunk's logit gradient into
/// the hidden states' and the chunk's weight gradients by two more GEMMs. The [rows, vocab] logits are never stored.
/// A row's running state between chunks is kept per row: its maximum and its label's logit (float32 logits, copied
/// exactly) and its sum of exponentials in float64. The hidden states, the weight and their gradients may be bfloat16
/// (the logits scratch and the statistics are float32 always): a chunk's weight gradient is one GEMM, rounded once, and
/// the hidden states' gradient, a sum over every chunk, is summed in a float32 scratch of this instance's and added once.
/// An lm_head bias (either storage) is widened to float32 once per call and added to each chunk's float32 logits; its
/// gradient is each chunk's column sum of the logit gradient (<see cref="FastBias.ColumnSums{TWord, TFormat}"/>), added once.
/// </summary>
internal sealed class FastChunkedOutputLoss
{
    private float[] _runningMax = [];
    private double[] _runningSum = [];
    private float[] _labelLogit = [];
    private HostBuffer<float>? _hiddenGradSums;
    private float[] _widenedBias = [];
    private readonly FastBias _bias = new();

    /// <summary>
    /// logProb[r] = (hidden[r] · weightᵀ + bias)[labels[r]] − logSumExp[r], the log-sum-exp kept; both 0 for rows with a negative
    /// label. A null bias is none.
    /// </summary>
    public void Forward(Memory<float> logProb, Memory<float> logSumExp, View<float> logitsScratch, View<float> hidden, View<float> weight,
        View<float>? bias, ReadOnlyMemory<int> labels, int rows, int dim, int vocab, int chunk)
    {
        ChunkedOutputLoss.CheckShapes(logitsScratch.Length, hidden.Length, weight.Length, labels.Length, logSumExp.Length, rows, dim, vocab, chunk);
        ChunkedOutputLoss.CheckBias(bias?.Length, null, vocab, backward: false);
        ShapeCheck.Length(logProb.Length, rows, nameof(logProb));
        ChunkedOutputLoss.CheckLabels(labels.Span, vocab);
        if (_runningMax.Length < rows) (_runningMax, _runningSum, _labelLogit) = (new float[rows], new double[rows], new float[rows]);
        var (max, sum, target) = (_runningMax, _runningSum, _labelLogit);
        max.AsSpan(0, rows).Fill(float.NegativeInfinity);
        sum.AsSpan(0, rows).Clear();
        ForEachChunk(logitsScratch, hidden, weight, Widened(bias), rows, dim, vocab, chunk, (logits, first, width) => Partitions.For(rows,
            Partitions.Rows(width), part =>
        {
            for (var r = part.Start; r < part.End; r++)
            {
                var label = labels.Span[r];
                if (label < 0) continue;
                var row = logits.Span.Slice(r * width, width);
                var (chunkMax, chunkSum) = SoftmaxRows.MaxAndSumExp<float, Float32Format>(row);
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
    /// softmax) recomputed chunk by chunk, 0 for ignored rows; with a bias, biasGrad += Σ_r dLogits[r].
    /// </summary>
    public void Backward(View<float> hiddenGrad, View<float> weightGrad, View<float> logitsScratch, View<float> hidden,
        View<float> weight, View<float>? bias, View<float>? biasGrad, ReadOnlyMemory<float> logSumExp, ReadOnlyMemory<int> labels,
        ReadOnlyMemory<float> logProbGrad, int rows, int dim, int vocab, int chunk)
    {
        ChunkedOutputLoss.CheckShapes(logitsScratch.Length, hidden.Length, weight.Length, labels.Length, logSumExp.Length, rows, dim, vocab, chunk);
        ChunkedOutputLoss.CheckBias(bias?.Length, biasGrad?.Length, vocab, backward: true);
        ShapeCheck.Length(hiddenGrad.Length, rows * dim, nameof(hiddenGrad));
        ShapeCheck.Length(weightGrad.Length, vocab * dim, nameof(weightGrad));
        ShapeCheck.Length(logProbGrad.Length, rows, nameof(logProbGrad));
        ChunkedOutputLoss.CheckLabels(labels.Span, vocab);
        var hiddenGradTarget = hiddenGrad;
        if (hiddenGrad.Storage != Storage.Native)
        {
            if (_hiddenGradSums is null || _hiddenGradSums.Length < hiddenGrad.Length) _hiddenGradSums = new HostBuffer<float>(hiddenGrad.Length);
            hiddenGradTarget = _hiddenGradSums.All.Slice(0, hiddenGrad.Length);
            FastElementwise.Zero(hiddenGradTarget.Memory);
        }
        ForEachChunk(logitsScratch, hidden, weight, Widened(bias), rows, dim, vocab, chunk, (logits, first, width) =>
        {
            Partitions.For(rows, Partitions.Rows(width), part =>
            {
                for (var r = part.Start; r < part.End; r++)
                {
                    var gradRow = logits.Span.Slice(r * width, width);
                    var label = labels.Span[r];
                    if (label < 0) gradRow.Clear();
                    else SoftmaxRows.Gradient<float, Float32Format>(gradRow, gradRow, logSumExp.Span[r], logProbGrad.Span[r], label - first);
                }
            });
            if (biasGrad is { } grad) AddColumnSums(grad.Slice(first, width), logits, width);
            FastMatMul.Backward(hiddenGradTarget, weightGrad.Slice(first * dim, width * dim), logits, hidden, weight.Slice(first * dim, width * dim),
                rows, dim, width);
        });
        if (hiddenGradTarget != hiddenGrad)
            Partitions.For(hiddenGrad.Length, Partitions.Elements, part =>
                Vectors.AddInto<ushort, BFloat16Format>(part.Of(hiddenGrad.Bits()), part.Of(hiddenGradTarget.Memory)));
    }

    /// <summary>The bias in float32: its own memory, or widened from bfloat16 into this instance's scratch; null without one.</summary>
    private ReadOnlyMemory<float>? Widened(View<float>? bias)
    {
        if (bias is not { } b) return null;
        if (b.Storage == Storage.Native) return b.Memory;
        if (_widenedBias.Length < b.Length) _widenedBias = new float[b.Length];
        BFloat16Format.Widen(b.Bits().Span, _widenedBias.AsSpan(0, b.Length));
        return _widenedBias.AsMemory(0, b.Length);
    }

    /// <summary>gradient += the column sums of the chunk's logit gradient [rows, width], rounded once to the gradient's storage.</summary>
    private void AddColumnSums(View<float> gradient, View<float> logitsGrad, int width)
    {
        var sums = _bias.ColumnSums<float, Float32Format>(logitsGrad.Memory, width);
        if (gradient.Storage == Storage.BFloat16) Vectors.AddInto<ushort, BFloat16Format>(gradient.Bits().Span, sums);
        else Vectors.AddInto<float, Float32Format>(gradient.Memory.Span, sums);
    }

    /// <summary>
    /// Computes each chunk's logits [rows, width] into the scratch (the GEMM, then the bias added in float32), then hands
    /// them to <paramref name="useChunk"/> with the chunk's first column.
    /// </summary>
    private static void ForEachChunk(View<float> logitsScratch, View<float> hidden, View<float> weight, ReadOnlyMemory<float>? bias, int rows, int dim,
        int vocab, int chunk, Action<View<float>, int, int> useChunk)
    {
        var chunkWidth = ChunkedOutputLoss.ChunkWidth(vocab, chunk);
        for (var first = 0; first < vocab; first += chunkWidth)
        {
            var width = Math.Min(chunkWidth, vocab - first);
            var logits = logitsScratch.Slice(0, rows * width);
            FastMatMul.Forward(logits, hidden, weight.Slice(first * dim, width * dim), rows, dim, width);
            if (bias is { } b) FastBias.Forward<float, Float32Format>(logits.Memory, b.Slice(first, width), width);
            useChunk(logits, first, width);
        }
    }
}
