using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>
/// Causal grouped-query self-attention with scale 1/sqrt(headDim). Query i of sequence b sits at absolute position
/// p = QueryStart + i and sees keys j ≤ p with j &lt; lengths[b]; query head h reads kv head h / (heads / kvHeads).
/// q and output are [batch, queryLength, heads·headDim], k and v [batch, keyLength, kvHeads·headDim], logSumExp
/// [batch, heads, queryLength]. Query rows at or past their sequence's length output 0 (log-sum-exp 0) and have no gradient.
/// </summary>
public static class Attention
{
    /// <summary>
    /// The CPU reference: the specification every device kernel of this op is held to. Scores, softmax and weighted sums
    /// are computed in float64; only one query row's scores exist at a time, never a T×T matrix.
    /// </summary>
    public static class Reference
    {
        /// <summary>Parallel over (batch, head): each iteration writes its own output rows and log-sum-exps.</summary>
        public static void Forward<T>(Memory<T> output, Memory<T> logSumExp, ReadOnlyMemory<T> q, ReadOnlyMemory<T> k, ReadOnlyMemory<T> v,
            ReadOnlyMemory<int> lengths, AttentionShape shape)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            CheckShapes(output.Length, logSumExp.Length, q.Length, k.Length, v.Length, lengths.Span, shape);
            var (dim, scale) = (shape.HeadDim, 1 / Math.Sqrt(shape.HeadDim));
            Parallel.For(0, shape.Batch * shape.Heads, bh =>
            {
                var (b, h) = Math.DivRem(bh, shape.Heads);
                var kvHead = h / (shape.Heads / shape.KvHeads);
                ReadOnlySpan<T> queries = q.Span, keys = k.Span, values = v.Span;
                var scores = new double[shape.KeyLength];
                var weighted = new double[dim];
                for (var i = 0; i < shape.QueryLength; i++)
                {
                    var outputRow = output.Span.Slice(QueryOffset(shape, b, i, h), dim);
                    var lseIndex = (b * shape.Heads + h) * shape.QueryLength + i;
                    var visible = VisibleKeys(shape, lengths.Span[b], i);
                    if (visible == 0)
                    {
                        outputRow.Clear();
                        logSumExp.Span[lseIndex] = T.Zero;
                        continue;
                    }
                    var queryRow = queries.Slice(QueryOffset(shape, b, i, h), dim);
                    var max = double.NegativeInfinity;
                    for (var j = 0; j < visible; j++)
                    {
                        scores[j] = scale * Dot(queryRow, keys.Slice(KeyOffset(shape, b, j, kvHead), dim));
                        max = Math.Max(max, scores[j]);
                    }
                    var sum = 0.0;
                    for (var j = 0; j < visible; j++) sum += Math.Exp(scores[j] - max);
                    var lse = max + Math.Log(sum);
                    Array.Clear(weighted);
                    for (var j = 0; j < visible; j++)
                    {
                        var probability = Math.Exp(scores[j] - lse);
                        var valueRow = values.Slice(KeyOffset(shape, b, j, kvHead), dim);
                        for (var d = 0; d < dim; d++) weighted[d] += probability * double.CreateTruncating(valueRow[d]);
                    }
                    for (var d = 0; d < dim; d++) outputRow[d] = T.CreateTruncating(weighted[d]);
                    logSumExp.Span[lseIndex] = T.CreateTruncating(lse);
                }
            });
        }

        /// <summary>
        /// Flash-attention backward: probabilities are recomputed from q, k and the stored log-sum-exp, and with
        /// D_i = dO_i · O_i, dS_ij = P_ij (dO_i · v_j − D_i); then dq_i += scale Σ_j dS_ij k_j, dk_j += scale Σ_i dS_ij q_i,
        /// dv_j += Σ_i P_ij dO_i. Parallel over (batch, kv head): each iteration owns the k and v gradients of its kv head
        /// and the q gradients of the query heads that share it, so no element is written by two iterations.
        /// </summary>
        public static void Backward<T>(Memory<T> qGrad, Memory<T> kGrad, Memory<T> vGrad, ReadOnlyMemory<T> outputGrad,
            ReadOnlyMemory<T> q, ReadOnlyMemory<T> k, ReadOnlyMemory<T> v, ReadOnlyMemory<T> output, ReadOnlyMemory<T> logSumExp,
            ReadOnlyMemory<int> lengths, AttentionShape shape)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            CheckShapes(output.Length, logSumExp.Length, q.Length, k.Length, v.Length, lengths.Span, shape);
            ShapeCheck.Length(outputGrad.Length, output.Length, nameof(outputGrad));
            ShapeCheck.Length(qGrad.Length, q.Length, nameof(qGrad));
            ShapeCheck.Length(kGrad.Length, k.Length, nameof(kGrad));
            ShapeCheck.Length(vGrad.Length, v.Length, nameof(vGrad));
            var (dim, scale, group) = (shape.HeadDim, 1 / Math.Sqrt(shape.HeadDim), shape.Heads / shape.KvHeads);
            Parallel.For(0, shape.Batch * shape.KvHeads, bkv =>
            {
                var (b, kvHead) = Math.DivRem(bkv, shape.KvHeads);
                ReadOnlySpan<T> queries = q.Span, keys = k.Span, values = v.Span, outputs = output.Span, outputGrads = outputGrad.Span;
                var keyGrads = new double[shape.KeyLength * dim];
                var valueGrads = new double[shape.KeyLength * dim];
                var queryGrad = new double[dim];
                for (var h = kvHead * group; h < (kvHead + 1) * group; h++)
                    for (var i = 0; i < shape.QueryLength; i++)
                    {
                        var visible = VisibleKeys(shape, lengths.Span[b], i);
                        if (visible == 0) continue;
                        var rowOffset = QueryOffset(shape, b, i, h);
                        var queryRow = queries.Slice(rowOffset, dim);
                        var outputGradRow = outputGrads.Slice(rowOffset, dim);
                        var lse = double.CreateTruncating(logSumExp.Span[(b * shape.Heads + h) * shape.QueryLength + i]);
                        var rowDelta = Dot(outputGradRow, outputs.Slice(rowOffset, dim)); // D_i
                        Array.Clear(queryGrad);
                        for (var j = 0; j < visible; j++)
                        {
                            var keyRow = keys.Slice(KeyOffset(shape, b, j, kvHead), dim);
                            var valueRow = values.Slice(KeyOffset(shape, b, j, kvHead), dim);
                            var probability = Math.Exp(scale * Dot(queryRow, keyRow) - lse);
                            var scoreGrad = probability * (Dot(outputGradRow, valueRow) - rowDelta);
                            for (var d = 0; d < dim; d++)
                            {
                                queryGrad[d] += scale * scoreGrad * double.CreateTruncating(keyRow[d]);
                                keyGrads[j * dim + d] += scale * scoreGrad * double.CreateTruncating(queryRow[d]);
                                valueGrads[j * dim + d] += probability * double.CreateTruncating(outputGradRow[d]);
                            }
                        }
                        AddTo(qGrad.Span.Slice(rowOffset, dim), queryGrad);
                    }
                for (var j = 0; j < shape.KeyLength; j++)
                {
                    AddTo(kGrad.Span.Slice(KeyOffset(shape, b, j, kvHead), dim), keyGrads.AsSpan(j * dim, dim));
                    AddTo(vGrad.Span.Slice(KeyOffset(shape, b, j, kvHead), dim), valueGrads.AsSpan(j * dim, dim));
                }
            });
        }

        /// <summary>How many keys query i of a sequence of the given length sees: 0 for a padding row.</summary>
        private static int VisibleKeys(AttentionShape shape, int length, int i)
        {
            var position = shape.QueryStart + i;
            return position < length ? position + 1 : 0;
        }

        private static int QueryOffset(AttentionShape shape, int b, int i, int head) =>
            (b * shape.QueryLength + i) * shape.QueryWidth + head * shape.HeadDim;

        private static int KeyOffset(AttentionShape shape, int b, int j, int kvHead) =>
            (b * shape.KeyLength + j) * shape.KvWidth + kvHead * shape.HeadDim;

        private static double Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var sum = 0.0;
            for (var d = 0; d < a.Length; d++) sum += double.CreateTruncating(a[d]) * double.CreateTruncating(b[d]);
            return sum;
        }

        private static void AddTo<T>(Span<T> destination, ReadOnlySpan<double> values) where T : unmanaged, IFloatingPointIeee754<T>
        {
            for (var d = 0; d < destination.Length; d++) destination[d] += T.CreateTruncating(values[d]);
        }

        private static void CheckShapes(int outputLength, int logSumExpLength, int qLength, int kLength, int vLength, ReadOnlySpan<int> lengths,
            AttentionShape shape)
        {
            if (shape.KvHeads <= 0 || shape.Heads % shape.KvHeads != 0)
                throw new ArgumentException($"{shape.Heads} heads cannot share {shape.KvHeads} kv heads", nameof(shape));
            if (shape.QueryStart < 0) throw new ArgumentException($"negative QueryStart {shape.QueryStart}", nameof(shape));
            ShapeCheck.Length(qLength, shape.Batch * shape.QueryLength * shape.QueryWidth, "q");
            ShapeCheck.Length(outputLength, qLength, "output");
            ShapeCheck.Length(kLength, shape.Batch * shape.KeyLength * shape.KvWidth, "k");
            ShapeCheck.Length(vLength, kLength, "v");
            ShapeCheck.Length(logSumExpLength, shape.Batch * shape.Heads * shape.QueryLength, "logSumExp");
            ShapeCheck.Length(lengths.Length, shape.Batch, "lengths");
            foreach (var length in lengths)
                if (length < 0 || length > shape.KeyLength)
                    throw new ArgumentException($"sequence length {length} outside 0..{shape.KeyLength} keys", nameof(lengths));
        }
    }
}
