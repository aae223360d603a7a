namespace SimNpo.Kernels;

/// <summary>The floating-point operations (a multiply-add is 2) and the bytes of memory one op call implies.</summary>
public readonly record struct OpCost(long Flops, long Bytes);

/// <summary>
/// What each op of <see cref="IOps{T}"/> costs at its call's shapes, for the profiler's achieved rates: the minimum
/// traffic (every operand read once, every result written once; a gradient that is added to is read and written) and,
/// for the ops built of dot products, their multiply-adds. Elementwise, normalisation and softmax ops are bounded by
/// memory and counted by bytes only (their few operations per element never bound them). Counts are exact integers.
/// </summary>
public static class OpCosts
{
    /// <summary>output = input·weightᵀ: 2·rows·in·out; reads input and weight, writes output.</summary>
    public static OpCost MatMul(int rows, int inDim, int outDim, int elementSize) =>
        new(2L * rows * inDim * outDim, elementSize * ((long)rows * inDim + (long)inDim * outDim + (long)rows * outDim));

    /// <summary>Two products of the forward's size (inputGrad and weightGrad); both gradients read and written.</summary>
    public static OpCost MatMulBackward(int rows, int inDim, int outDim, int elementSize) =>
        new(4L * rows * inDim * outDim, elementSize * ((long)rows * outDim + 3L * rows * inDim + 3L * inDim * outDim));

    /// <summary>
    /// The causal triangle (a band with a window): query i of each (sequence, head) sees min(QueryStart + i + 1, KeyLength)
    /// keys, at most Window of them (sequences taken at full length), and each key costs a q·k and a p·v of 2·headDim each. Reads q, k, v; writes output and
    /// the log-sum-exps.
    /// </summary>
    public static OpCost Attention(AttentionShape shape, int elementSize) =>
        new(4L * shape.Batch * shape.Heads * shape.HeadDim * VisibleKeys(shape),
            elementSize * (2L * shape.Batch * shape.QueryLength * shape.QueryWidth + 2L * shape.Batch * shape.KeyLength * shape.KvWidth
                           + (long)shape.Batch * shape.Heads * shape.QueryLength));

    /// <summary>
    /// 2.5 times the forward, as in FlashAttention: per visible key the scores are recomputed (q·k) and dO·v, dq, dk and
    /// dv each cost 2·headDim. Reads q, k, v, output, dO and the log-sum-exps; the three gradients are read and written.
    /// </summary>
    public static OpCost AttentionBackward(AttentionShape shape, int elementSize) =>
        new(10L * shape.Batch * shape.Heads * shape.HeadDim * VisibleKeys(shape),
            elementSize * (5L * shape.Batch * shape.QueryLength * shape.QueryWidth + 4L * shape.Batch * shape.KeyLength * shape.KvWidth
                           + (long)shape.Batch * shape.Heads * shape.QueryLength));

    /// <summary>
    /// hidden·weightᵀ in chunks and the log-softmax at the labels: 2·rows·dim·vocab; reads hidden and weight, writes
    /// each chunk of logits once and reads it back, writes log-prob and log-sum-exp per row.
    /// </summary>
    public static OpCost ChunkedOutputLoss(int rows, int dim, int vocab, int elementSize) =>
        new(2L * rows * dim * vocab, elementSize * ((long)rows * dim + (long)vocab * dim + 2L * rows * vocab + 2L * rows));

    /// <summary>The logits recomputed (2·rows·dim·vocab) and both products of their gradient (4·rows·dim·vocab).</summary>
    public static OpCost ChunkedOutputLossBackward(int rows, int dim, int vocab, int elementSize) =>
        new(6L * rows * dim * vocab, elementSize * (3L * rows * dim + 3L * vocab * dim + 2L * rows * vocab + 2L * rows));

    /// <summary>An op that reads <paramref name="reads"/> and writes <paramref name="writes"/> arrays of this many elements.</summary>
    public static OpCost Elementwise(long elements, int reads, int writes, int elementSize) => new(0, elementSize * elements * (reads + writes));

    /// <summary>Rows of a table gathered (read, write) or scatter-added (read, and the table row read and written), plus the indices.</summary>
    public static OpCost GatherRows(int rows, int dim, bool scatterAdd, int elementSize) =>
        new(0, elementSize * (long)rows * dim * (scatterAdd ? 3 : 2) + sizeof(int) * (long)rows);

    /// <summary>Forward reads input and writes output (the weight row and inverse rms are small); backward reads input, dO and adds into the input
    /// gradient.</summary>
    public static OpCost RmsNorm(long elements, int dim, bool backward, int elementSize) =>
        new(0, elementSize * (elements * (backward ? 4 : 2) + dim * (backward ? 3L : 1L) + elements / dim));

    /// <summary>
    /// As <see cref="RmsNorm"/> with a second per-row statistic and a second [dim] parameter: forward reads input, weight and
    /// bias and writes output, mean and 1/std; backward reads input, dO, weight and both statistics, adds into the input
    /// gradient and both parameter gradients.
    /// </summary>
    public static OpCost LayerNorm(long elements, int dim, bool backward, int elementSize) =>
        new(0, elementSize * (elements * (backward ? 4 : 2) + dim * (backward ? 5L : 2L) + 2 * elements / dim));

    /// <summary>Each head's rotated part rotated in place (read, write), plus its position; the rest of the head is not touched.</summary>
    public static OpCost Rope(int rows, int heads, int rotaryDim, int elementSize) =>
        new(0, elementSize * 2L * rows * heads * rotaryDim + sizeof(int) * (long)rows);

    /// <summary>
    /// A softmax over rows of the vocabulary: arrays of logits' size accessed that many times (logits read, targets read,
    /// gradients written), and a few values per row.
    /// </summary>
    public static OpCost Softmax(long logits, int rows, int logitsAccesses, int elementSize) =>
        new(0, elementSize * (logits * logitsAccesses + 3L * rows));

    private static long VisibleKeys(AttentionShape shape)
    {
        long total = 0;
        for (var i = 0; i < shape.QueryLength; i++)
        {
            var position = shape.QueryStart + i;
            total += Math.Max(0, Math.Min(position + 1, shape.KeyLength) - Kernels.Attention.FirstVisibleKey(shape, position));
        }
        return total;
    }
}
