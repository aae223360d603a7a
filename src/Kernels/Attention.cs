using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace SimNpo.Kernels;

/// <summary>
/// Causal grouped-query self-attention with scale 1/sqrt(headDim). Query i of sequence b sits at absolute position
/// p = QueryStart + i and sees keys j ≤ p with j &lt; lengths[b], and with a window W also p − W &lt; j (Mistral's sliding
/// window, transformers' mask); query head h reads kv head h / (heads / kvHeads).
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
            CheckShapes(output.Length, logSumExp.Length, q.Length, k.Length, v.Length, lengths.Length, shape);
            CheckSequenceLengths(lengths.Span, shape);
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
                    var (first, end) = VisibleKeys(shape, lengths.Span[b], i);
                    if (first == end)
                    {
                        outputRow.Clear();
                        logSumExp.Span[lseIndex] = T.Zero;
                        continue;
                    }
                    var queryRow = queries.Slice(QueryOffset(shape, b, i, h), dim);
                    var max = double.NegativeInfinity;
                    for (var j = first; j < end; j++)
                    {
                        scores[j] = scale * Dot(queryRow, keys.Slice(KeyOffset(shape, b, j, kvHead), dim));
                        max = Math.Max(max, scores[j]);
                    }
                    var sum = 0.0;
                    for (var j = first; j < end; j++) sum += Math.Exp(scores[j] - max);
                    var lse = max + Math.Log(sum);
                    Array.Clear(weighted);
                    for (var j = first; j < end; j++)
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
            CheckShapes(output.Length, logSumExp.Length, q.Length, k.Length, v.Length, lengths.Length, shape);
            CheckGradientShapes(qGrad.Length, kGrad.Length, vGrad.Length, outputGrad.Length, shape);
            CheckSequenceLengths(lengths.Span, shape);
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
                        var (first, end) = VisibleKeys(shape, lengths.Span[b], i);
                        if (first == end) continue;
                        var rowOffset = QueryOffset(shape, b, i, h);
                        var queryRow = queries.Slice(rowOffset, dim);
                        var outputGradRow = outputGrads.Slice(rowOffset, dim);
                        var lse = double.CreateTruncating(logSumExp.Span[(b * shape.Heads + h) * shape.QueryLength + i]);
                        var rowDelta = Dot(outputGradRow, outputs.Slice(rowOffset, dim)); // D_i
                        Array.Clear(queryGrad);
                        for (var j = first; j < end; j++)
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
    }

    /// <summary>
    /// The ILGPU kernels, flash-attention style: keys go in blocks of one warp's width, a lane per key, staged in shared
    /// memory; softmax is online; no T×T matrix exists anywhere. Scores, sums and gradients are float32.
    /// Limits: shared memory must hold two key blocks of headDim floats plus a few rows; at warp 32 and 48 KB the full 8
    /// warps fit up to headDim 147, fewer warps up to 185, and beyond that the launcher throws. Sequence lengths are read on
    /// the device and trusted to lie in 0..KeyLength. Decoding (one query row) leaves all but one warp of a group idle.
    /// </summary>
    public static class Ilgpu
    {
        /// <summary>Warps per group: at warp 32, 8 query rows share each staged key block (256 threads).</summary>
        private const int MaxWarps = 8;

        /// <summary>The attention kernels of one accelerator, compiled once: create one per accelerator and keep it.</summary>
        public sealed class Launcher
        {
            private readonly Accelerator _accelerator;

            private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<int>, AttentionShape, float> _forward;

            /// <summary>Twelve parameters, more than LoadStreamKernel takes: loaded as a kernel with an explicit launcher.</summary>
            private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, AttentionShape, float> _backward;

            public Launcher(Accelerator accelerator)
            {
                _accelerator = accelerator;
                _forward = _accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                    ArrayView<int>, AttentionShape, float>(AttentionForwardKernel);
                var backwardKernel = new Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                    ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, AttentionShape, float>(AttentionBackwardKernel);
                _backward = _accelerator.LoadKernel(backwardKernel.Method).CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig,
                    ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                    ArrayView<float>, ArrayView<float>, ArrayView<int>, AttentionShape, float>>();
            }

            /// <summary>See <see cref="IOps{T}.Attention"/>: output and logSumExp are overwritten.</summary>
            public void Forward(ArrayView<float> output, ArrayView<float> logSumExp, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v,
                ArrayView<int> lengths, AttentionShape shape)
            {
                CheckShapes((int)output.Length, (int)logSumExp.Length, (int)q.Length, (int)k.Length, (int)v.Length, (int)lengths.Length, shape);
                if (shape.Batch == 0 || shape.QueryLength == 0) return;
                var warps = Warps(shape.HeadDim, ForwardSharedFloats);
                var grid = new Index3D((shape.QueryLength + warps - 1) / warps, shape.Heads, shape.Batch);
                _forward(Config(grid, warps, ForwardSharedFloats(warps, _accelerator.WarpSize, shape.HeadDim)),
                    output, logSumExp, q, k, v, lengths, shape, Scale(shape));
            }

            /// <summary>See <see cref="IOps{T}.AttentionBackward"/>: qGrad, kGrad and vGrad are added to.</summary>
            public void Backward(ArrayView<float> qGrad, ArrayView<float> kGrad, ArrayView<float> vGrad, ArrayView<float> outputGrad,
                ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> output, ArrayView<float> logSumExp,
                ArrayView<int> lengths, AttentionShape shape)
            {
                CheckShapes((int)output.Length, (int)logSumExp.Length, (int)q.Length, (int)k.Length, (int)v.Length, (int)lengths.Length, shape);
                CheckGradientShapes((int)qGrad.Length, (int)kGrad.Length, (int)vGrad.Length, (int)outputGrad.Length, shape);
                if (shape.Batch == 0 || shape.QueryLength == 0 || shape.KeyLength == 0) return;
                var warps = Warps(shape.HeadDim, BackwardSharedFloats);
                var grid = new Index3D((shape.KeyLength + _accelerator.WarpSize - 1) / _accelerator.WarpSize, shape.KvHeads, shape.Batch);
                _backward(_accelerator.DefaultStream, Config(grid, warps, BackwardSharedFloats(warps, _accelerator.WarpSize, shape.HeadDim)),
                    qGrad, kGrad, vGrad, outputGrad, q, k, v, output, logSumExp, lengths, shape, Scale(shape));
            }

            private KernelConfig Config(Index3D grid, int warps, int sharedFloats) =>
                new(grid, new Index3D(warps * _accelerator.WarpSize, 1, 1), SharedMemoryConfig.RequestDynamic<float>(sharedFloats));

            /// <summary>The most warps, up to <see cref="MaxWarps"/> and the group limit, whose shared memory fits.</summary>
            private int Warps(int headDim, Func<int, int, int, int> sharedFloats)
            {
                for (var warps = Math.Min(MaxWarps, _accelerator.MaxNumThreadsPerGroup / _accelerator.WarpSize); warps > 0; warps--)
                    if (sharedFloats(warps, _accelerator.WarpSize, headDim) * sizeof(float) <= _accelerator.MaxSharedMemoryPerGroup) return warps;
                throw new NotSupportedException(
                    $"head dimension {headDim} needs more than the {_accelerator.MaxSharedMemoryPerGroup} bytes of shared memory of {_accelerator.Name}");
            }

            private static float Scale(AttentionShape shape) => (float)(1 / Math.Sqrt(shape.HeadDim));

            /// <summary>Per warp a query row and its output; one key block (rows padded by one) and one value block; probabilities.</summary>
            private static int ForwardSharedFloats(int warps, int warpSize, int dim) => 2 * warps * dim + warpSize * (2 * dim + 1) + warps * warpSize;

            /// <summary>The block's key and value gradients; per warp a query row, its output gradient, probabilities and score gradients.</summary>
            private static int BackwardSharedFloats(int warps, int warpSize, int dim) => 2 * (warpSize + warps) * dim + 2 * warps * warpSize;
        }

        /// <summary>
        /// One group per (block of query rows, head, sequence), a warp per query row. Per block of warpSize keys the group
        /// stages keys and values in shared memory; lane j scores key j; the warp updates the row's running max and sum;
        /// lane d accumulates output dimensions d, d + warpSize, …, rescaled whenever the max grows.
        /// </summary>
        private static void AttentionForwardKernel(ArrayView<float> output, ArrayView<float> logSumExp, ArrayView<float> q, ArrayView<float> k,
            ArrayView<float> v, ArrayView<int> lengths, AttentionShape shape, float scale)
        {
            int dim = shape.HeadDim, warpSize = Warp.WarpSize, warps = Group.DimX / warpSize, lane = Warp.LaneIdx;
            int b = Grid.IdxZ, h = Grid.IdxY, kvHead = h / (shape.Heads / shape.KvHeads), length = lengths[b];
            int firstRow = Grid.IdxX * warps, i = firstRow + Warp.WarpIdx;
            var shared = SharedMemory.GetDynamic<float>();
            var query = shared.SubView(Warp.WarpIdx * dim, dim);
            var weighted = shared.SubView((warps + Warp.WarpIdx) * dim, dim);
            var keys = shared.SubView(2 * warps * dim, warpSize * (dim + 1)); // row stride dim + 1: lanes reading a column hit distinct banks
            var values = shared.SubView(2 * warps * dim + warpSize * (dim + 1), warpSize * dim);
            var probabilities = shared.SubView(2 * warps * dim + warpSize * (2 * dim + 1) + Warp.WarpIdx * warpSize, warpSize);

            var (first, end) = i < shape.QueryLength ? VisibleKeys(shape, length, i) : (0, 0);
            var rowOffset = QueryOffset(shape, b, i, h);
            if (first < end)
                for (var d = lane; d < dim; d += warpSize)
                {
                    query[d] = q[rowOffset + d];
                    weighted[d] = 0;
                }
            // The block's last row sees the latest keys, none when even its first row is padding; its first row the earliest.
            var lastRow = Math.Min(firstRow + warps, shape.QueryLength) - 1;
            var blockKeys = shape.QueryStart + firstRow < length ? Math.Min(shape.QueryStart + lastRow + 1, length) : 0;
            var blockFirstKey = FirstVisibleKey(shape, shape.QueryStart + firstRow) / warpSize * warpSize;
            float runningMax = float.NegativeInfinity, runningSum = 0;
            for (var k0 = blockFirstKey; k0 < blockKeys; k0 += warpSize)
            {
                Group.Barrier(); // the previous block is used up, and every warp's query row is written
                for (var e = Group.IdxX; e < warpSize * dim; e += Group.DimX)
                {
                    int j = e / dim, d = e % dim;
                    var inside = k0 + j < blockKeys;
                    var offset = KeyOffset(shape, b, k0 + j, kvHead) + d;
                    keys[j * (dim + 1) + d] = inside ? k[offset] : 0;
                    values[e] = inside ? v[offset] : 0;
                }
                Group.Barrier();
                if (k0 >= end || k0 + warpSize <= first) continue; // the same for the whole warp: no key of the block in the row's range
                var seen = first <= k0 + lane && k0 + lane < end;
                var score = float.NegativeInfinity;
                if (seen)
                {
                    var dot = 0f;
                    for (var d = 0; d < dim; d++) dot += query[d] * keys[lane * (dim + 1) + d];
                    score = dot * scale;
                }
                // The row's first block (the one holding its first key) sees that key, so the max is finite from there on
                // and exp never meets −∞.
                var max = Math.Max(runningMax, WarpMax(score));
                var probability = seen ? XMath.Exp(score - max) : 0;
                var rescale = k0 <= first ? 0 : XMath.Exp(runningMax - max);
                runningSum = runningSum * rescale + WarpSum(probability);
                runningMax = max;
                probabilities[lane] = probability;
                Warp.Barrier();
                for (var d = lane; d < dim; d += warpSize)
                {
                    var sum = 0f;
                    for (var j = 0; j < warpSize; j++) sum += probabilities[j] * values[j * dim + d];
                    weighted[d] = weighted[d] * rescale + sum;
                }
            }
            if (i >= shape.QueryLength) return;
            for (var d = lane; d < dim; d += warpSize) output[rowOffset + d] = first < end ? weighted[d] / runningSum : 0;
            if (lane == 0) logSumExp[(b * shape.Heads + h) * shape.QueryLength + i] = first < end ? runningMax + XMath.Log(runningSum) : 0;
        }

        /// <summary>
        /// One group per (block of warpSize keys, kv head, sequence), looping over every query head that reads the kv head
        /// and every query row that sees one of the block's keys, a warp per row. The group alone owns its keys'
        /// gradients, so it sums them in shared memory without atomics; a query gradient gets one atomic add per dimension
        /// from each key block. Lane j recomputes P_ij from q, k and the stored log-sum-exp; D_i = dO_i · O_i is a warp sum.
        /// Keys are read from global memory (the block's rows stay in cache), leaving shared memory to the gradients.
        /// </summary>
        private static void AttentionBackwardKernel(ArrayView<float> qGrad, ArrayView<float> kGrad, ArrayView<float> vGrad,
            ArrayView<float> outputGrad, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> output,
            ArrayView<float> logSumExp, ArrayView<int> lengths, AttentionShape shape, float scale)
        {
            int dim = shape.HeadDim, warpSize = Warp.WarpSize, warps = Group.DimX / warpSize, lane = Warp.LaneIdx, warp = Warp.WarpIdx;
            int k0 = Grid.IdxX * warpSize, kvHead = Grid.IdxY, b = Grid.IdxZ, length = lengths[b];
            if (k0 >= length) return; // padding keys: no query sees them
            var shared = SharedMemory.GetDynamic<float>();
            var keyGrads = shared.SubView(0, warpSize * dim);
            var valueGrads = shared.SubView(warpSize * dim, warpSize * dim);
            var queries = shared.SubView(2 * warpSize * dim, warps * dim);
            var outputGrads = shared.SubView((2 * warpSize + warps) * dim, warps * dim);
            var probabilities = shared.SubView(2 * (warpSize + warps) * dim, warps * warpSize);
            var scoreGrads = shared.SubView(2 * (warpSize + warps) * dim + warps * warpSize, warps * warpSize);
            for (var e = Group.IdxX; e < warpSize * dim; e += Group.DimX)
            {
                keyGrads[e] = 0;
                valueGrads[e] = 0;
            }

            var query = queries.SubView(warp * dim, dim);
            var rowOutputGrad = outputGrads.SubView(warp * dim, dim);
            var j = k0 + lane;
            var keyOffset = KeyOffset(shape, b, j, kvHead);
            var keysHere = Math.Min(warpSize, length - k0);
            // The rows that see a key of the block: at positions from k0 on, not padding, and (window) before the last key's sight ends.
            int firstRow = Math.Max(0, k0 - shape.QueryStart);
            var endRow = Math.Min(length - shape.QueryStart, EndOfSightRow(shape, k0 + keysHere - 1));
            // The lane's key is seen from its own position up to here: a bound kept per lane, not a window tested per row
            // (which cost the kernel 8 more registers, ptxas sm_90).
            int group = shape.Heads / shape.KvHeads, sightEnd = EndOfSight(Reach(shape), j);
            for (var h = kvHead * group; h < (kvHead + 1) * group; h++)
                for (var r0 = firstRow; r0 < endRow; r0 += warps)
                {
                    var i = r0 + warp;
                    Group.Barrier(); // the previous rows are used up
                    if (i < endRow)
                    {
                        var rowOffset = QueryOffset(shape, b, i, h);
                        var delta = 0f;
                        for (var d = lane; d < dim; d += warpSize)
                        {
                            query[d] = q[rowOffset + d];
                            rowOutputGrad[d] = outputGrad[rowOffset + d];
                            delta += outputGrad[rowOffset + d] * output[rowOffset + d];
                        }
                        delta = WarpSum(delta);
                        Warp.Barrier();
                        float probability = 0, scoreGrad = 0;
                        if (j < length && j <= shape.QueryStart + i && shape.QueryStart + i < sightEnd)
                        {
                            float dot = 0, outputGradDotValue = 0;
                            for (var d = 0; d < dim; d++)
                            {
                                dot += query[d] * k[keyOffset + d];
                                outputGradDotValue += rowOutputGrad[d] * v[keyOffset + d];
                            }
                            probability = XMath.Exp(dot * scale - logSumExp[(b * shape.Heads + h) * shape.QueryLength + i]);
                            scoreGrad = probability * (outputGradDotValue - delta);
                        }
                        probabilities[warp * warpSize + lane] = probability;
                        scoreGrads[warp * warpSize + lane] = scoreGrad;
                        Warp.Barrier();
                        // dq_i += scale Σ_j dS_ij k_j, lane d over dimensions.
                        for (var d = lane; d < dim; d += warpSize)
                        {
                            var sum = 0f;
                            for (var key = 0; key < keysHere; key++) sum += scoreGrads[warp * warpSize + key] * k[KeyOffset(shape, b, k0 + key, kvHead) + d];
                            Atomic.Add(ref qGrad[rowOffset + d], scale * sum);
                        }
                    }
                    Group.Barrier();
                    // dv_j += Σ_i P_ij dO_i and dk_j += scale Σ_i dS_ij q_i over this step's rows; each thread owns its elements.
                    var rows = Math.Min(warps, endRow - r0);
                    for (var e = Group.IdxX; e < warpSize * dim; e += Group.DimX)
                    {
                        int key = e / dim, d = e % dim;
                        float valueGrad = 0, keyGrad = 0;
                        for (var w = 0; w < rows; w++)
                        {
                            valueGrad += probabilities[w * warpSize + key] * outputGrads[w * dim + d];
                            keyGrad += scoreGrads[w * warpSize + key] * queries[w * dim + d];
                        }
                        valueGrads[e] += valueGrad;
                        keyGrads[e] += scale * keyGrad;
                    }
                }
            Group.Barrier();
            for (var e = Group.IdxX; e < keysHere * dim; e += Group.DimX)
            {
                var offset = KeyOffset(shape, b, k0 + e / dim, kvHead) + e % dim;
                kGrad[offset] += keyGrads[e];
                vGrad[offset] += valueGrads[e];
            }
        }

        /// <summary>A butterfly: every lane ends with the warp's sum.</summary>
        private static float WarpSum(float value)
        {
            for (var offset = Warp.WarpSize / 2; offset > 0; offset /= 2) value += Warp.ShuffleXor(value, offset);
            return value;
        }

        private static float WarpMax(float value)
        {
            for (var offset = Warp.WarpSize / 2; offset > 0; offset /= 2) value = Math.Max(value, Warp.ShuffleXor(value, offset));
            return value;
        }
    }

    /// <summary>Only the CPU paths see the lengths' values: the device kernels' lengths live on the device.</summary>
    internal static void CheckSequenceLengths(ReadOnlySpan<int> lengths, AttentionShape shape)
    {
        foreach (var length in lengths)
            if (length < 0 || length > shape.KeyLength)
                throw new ArgumentException($"sequence length {length} outside 0..{shape.KeyLength} keys", nameof(lengths));
    }

    /// <summary>The keys [First, End) query i of a sequence of the given length sees: none for a padding row.</summary>
    internal static (int First, int End) VisibleKeys(AttentionShape shape, int length, int i)
    {
        var position = shape.QueryStart + i;
        return position < length ? (FirstVisibleKey(shape, position), position + 1) : (0, 0);
    }

    /// <summary>The earliest key a query at this absolute position sees: 0 without a window, else the window's first.</summary>
    internal static int FirstVisibleKey(AttentionShape shape, int position) => shape.Window > 0 ? Math.Max(0, position - shape.Window + 1) : 0;

    /// <summary>How many keys back a query sees, itself included: the window, or (none) every earlier key.</summary>
    internal static int Reach(AttentionShape shape) => shape.Window > 0 ? shape.Window : int.MaxValue;

    /// <summary>
    /// Whether the query at this absolute position sees the key, length aside: 0 ≤ position − key &lt; reach, in one
    /// unsigned comparison (a key after the position wraps to a huge distance).
    /// </summary>
    internal static bool Sees(int reach, int position, int key) => (uint)(position - key) < (uint)reach;

    /// <summary>The first absolute position that no longer sees the key: int.MaxValue without a window (no overflow).</summary>
    internal static int EndOfSight(int reach, int key) => key + Math.Min(reach, int.MaxValue - key);

    /// <summary>Whether the query at this absolute position is past the key's sight: the key is before its window.</summary>
    internal static bool PastSight(int reach, int position, int key) => position - key >= reach;

    /// <summary>
    /// The first query row (counted from QueryStart) whose position no longer sees the key, at most QueryLength; in int
    /// arithmetic that cannot overflow with no window (reach int.MaxValue).
    /// </summary>
    internal static int EndOfSightRow(AttentionShape shape, int key) =>
        Math.Min(Reach(shape), shape.QueryLength + shape.QueryStart - key) + key - shape.QueryStart;

    internal static int QueryOffset(AttentionShape shape, int b, int i, int head) =>
        (b * shape.QueryLength + i) * shape.QueryWidth + head * shape.HeadDim;

    internal static int KeyOffset(AttentionShape shape, int b, int j, int kvHead) =>
        (b * shape.KeyLength + j) * shape.KvWidth + kvHead * shape.HeadDim;

    internal static void CheckShapes(int outputLength, int logSumExpLength, int qLength, int kLength, int vLength, int lengthsCount,
        AttentionShape shape)
    {
        if (shape.KvHeads <= 0 || shape.Heads % shape.KvHeads != 0)
            throw new ArgumentException($"{shape.Heads} heads cannot share {shape.KvHeads} kv heads", nameof(shape));
        if (shape.QueryStart < 0) throw new ArgumentException($"negative QueryStart {shape.QueryStart}", nameof(shape));
        if (shape.Window < 0) throw new ArgumentException($"negative Window {shape.Window} (0: no window)", nameof(shape));
        ShapeCheck.Length(qLength, shape.Batch * shape.QueryLength * shape.QueryWidth, "q");
        ShapeCheck.Length(outputLength, qLength, "output");
        ShapeCheck.Length(kLength, shape.Batch * shape.KeyLength * shape.KvWidth, "k");
        ShapeCheck.Length(vLength, kLength, "v");
        ShapeCheck.Length(logSumExpLength, shape.Batch * shape.Heads * shape.QueryLength, "logSumExp");
        ShapeCheck.Length(lengthsCount, shape.Batch, "lengths");
    }

    /// <summary>Each gradient has the shape of the tensor it belongs to.</summary>
    internal static void CheckGradientShapes(int qGradLength, int kGradLength, int vGradLength, int outputGradLength, AttentionShape shape)
    {
        ShapeCheck.Length(qGradLength, shape.Batch * shape.QueryLength * shape.QueryWidth, "qGrad");
        ShapeCheck.Length(outputGradLength, qGradLength, "outputGrad");
        ShapeCheck.Length(kGradLength, shape.Batch * shape.KeyLength * shape.KvWidth, "kGrad");
        ShapeCheck.Length(vGradLength, kGradLength, "vGrad");
    }
}
