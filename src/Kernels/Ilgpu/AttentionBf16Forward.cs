using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime.Cuda;
using static SimNpo.Kernels.Ilgpu.MmaBf16;

namespace SimNpo.Kernels.Ilgpu;

public static partial class AttentionBf16
{
    /// <summary>Head dimensions up to 64: blocks of 64 keys, the output in one 16×64 tile per warp.</summary>
    private static void ForwardKernel(ArrayView<ushort> output, ArrayView<float> logSumExp, ArrayView<ushort> q, ArrayView<ushort> k,
        ArrayView<ushort> v, ArrayView<int> lengths, AttentionShape shape, float scale) =>
        Forward(output, logSumExp, q, k, v, lengths, shape, scale, NarrowKeys, wide: false);

    /// <summary>Head dimensions 80 to 128: blocks of 32 keys (shared memory), the output in two 16×64 tiles per warp.</summary>
    private static void ForwardWideKernel(ArrayView<ushort> output, ArrayView<float> logSumExp, ArrayView<ushort> q, ArrayView<ushort> k,
        ArrayView<ushort> v, ArrayView<int> lengths, AttentionShape shape, float scale) =>
        Forward(output, logSumExp, q, k, v, lengths, shape, scale, WideKeys, wide: true);

    /// <summary>
    /// FlashAttention-2's forward. One group per (block of 16·warps query rows, head, sequence); warp w owns rows
    /// 16w..16w+15 of the block. The group stages the block's queries once, then per block of <paramref name="keyTile"/>
    /// keys stages keys and values in shared memory; each warp computes its 16 × keyTile scores S = Q·Kᵀ on the tensor
    /// cores, masks and scales them, updates its rows' running maxima and sums (float32, online softmax), rescales its
    /// output tile and adds P·V, P rounded to bfloat16 in registers as the product's A fragments. Lane (g, t) holds
    /// rows g and g + 8 of its warp's tiles ("top" and "bottom" below).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Forward(ArrayView<ushort> output, ArrayView<float> logSumExp, ArrayView<ushort> q, ArrayView<ushort> k,
        ArrayView<ushort> v, ArrayView<int> lengths, AttentionShape shape, float scale, int keyTile, bool wide)
    {
        if (CudaAsm.IsSupported) PtxTiles.Declare();
        int dim = shape.HeadDim, warps = Group.DimX / Warp.WarpSize, warp = Warp.WarpIdx, lane = Warp.LaneIdx;
        int b = Grid.IdxZ, h = Grid.IdxY, kvHead = h / (shape.Heads / shape.KvHeads), length = lengths[b];
        int rows = 16 * warps, firstRow = Grid.IdxX * rows, stride = PaddedTile.Stride(dim);
        var shared = SharedMemory.GetDynamic<uint>();
        var queries = shared.SubView(0, rows * stride);
        var keys = shared.SubView(rows * stride, keyTile * stride);
        var values = shared.SubView((rows + keyTile) * stride, keyTile * stride);

        var queryRows = Math.Min(rows, shape.QueryLength - firstRow);
        PaddedTile.Load(queries, q, Attention.QueryOffset(shape, b, firstRow, h), shape.QueryWidth, rows, queryRows, dim);
        int top = firstRow + 16 * warp + lane / 4, bottom = top + 8;
        var (lastTop, lastBottom) = (LastVisibleKey(shape, length, top), LastVisibleKey(shape, length, bottom));
        // The block's last row sees the latest keys, none when even its first row is padding; its first row the earliest (window).
        var blockKeys = shape.QueryStart + firstRow < length ? Math.Min(shape.QueryStart + firstRow + queryRows, length) : 0;
        var blockFirstKey = Attention.FirstVisibleKey(shape, shape.QueryStart + firstRow) / keyTile * keyTile;
        var warpLastKey = shape.QueryStart + firstRow + 16 * warp + 15;
        var warpFirstKey = Attention.FirstVisibleKey(shape, shape.QueryStart + firstRow + 16 * warp);
        int outputTiles = wide ? 8 : dim / 8, wideTiles = wide ? dim / 8 - 8 : 0, reach = Attention.Reach(shape);

        var low = Tile16x64.Zero(LowRegisters);
        var high = Tile16x64.Zero(HighRegisters);
        float maxTop = float.NegativeInfinity, maxBottom = float.NegativeInfinity, sumTop = 0, sumBottom = 0;
        for (var k0 = blockFirstKey; k0 < blockKeys; k0 += keyTile)
        {
            Group.Barrier(); // the previous block is used up (and, the first time, nothing is pending)
            var keyRows = Math.Min(keyTile, blockKeys - k0);
            var keyStart = Attention.KeyOffset(shape, b, k0, kvHead);
            PaddedTile.Load(keys, k, keyStart, shape.KvWidth, keyTile, keyRows, dim);
            PaddedTile.Load(values, v, keyStart, shape.KvWidth, keyTile, keyRows, dim);
            Group.Barrier();
            // Uniform per warp: its rows are past the queries, or (causal) the whole block lies after them, or (window) before them.
            if (16 * warp >= queryRows || k0 > warpLastKey || k0 + keyTile <= warpFirstKey) continue;

            var scores = RowProducts(ScoreRegisters, queries, keys, 16 * warp, stride, dim, keyTile / 8);
            scores.Map(new CausalScores(scale, k0, lastTop, lastBottom, reach), keyTile / 8);
            var (laneMaxTop, laneMaxBottom) = scores.LaneMax(keyTile / 8);
            float newMaxTop = Math.Max(maxTop, Quad.Max(laneMaxTop)), newMaxBottom = Math.Max(maxBottom, Quad.Max(laneMaxBottom));
            scores.Map(new Exponentials(newMaxTop, newMaxBottom), keyTile / 8);
            float rescaleTop = Rescale(maxTop, newMaxTop), rescaleBottom = Rescale(maxBottom, newMaxBottom);
            (maxTop, maxBottom) = (newMaxTop, newMaxBottom);
            var (laneSumTop, laneSumBottom) = scores.LaneSum(keyTile / 8);
            sumTop = sumTop * rescaleTop + laneSumTop; // this lane's columns only: the quad adds up at the end
            sumBottom = sumBottom * rescaleBottom + laneSumBottom;
            low.ScaleRows(rescaleTop, rescaleBottom, outputTiles);
            high.ScaleRows(rescaleTop, rescaleBottom, wideTiles);
            MultiplyInto(ref low, ref high, scores, keyTile / 16, values, stride, outputTiles, wideTiles);
        }
        (sumTop, sumBottom) = (Quad.Sum(sumTop), Quad.Sum(sumBottom));
        // A padding row's sum is 0: it outputs 0 and log-sum-exp 0, as the reference does.
        float inverseTop = sumTop > 0 ? 1 / sumTop : 0, inverseBottom = sumBottom > 0 ? 1 / sumBottom : 0;
        low.ScaleRows(inverseTop, inverseBottom, outputTiles);
        high.ScaleRows(inverseTop, inverseBottom, wideTiles);
        var outputStart = Attention.QueryOffset(shape, b, 0, h);
        StoreRows(output, low.Fetched(outputTiles), outputStart, shape.QueryWidth, top, shape.QueryLength, 0, outputTiles, add: false);
        StoreRows(output, high.Fetched(wideTiles), outputStart, shape.QueryWidth, top, shape.QueryLength, 64, wideTiles, add: false);
        if (lane % 4 != 0) return;
        var lseRow = (b * shape.Heads + h) * shape.QueryLength;
        if (top < shape.QueryLength) logSumExp[lseRow + top] = sumTop > 0 ? maxTop + XMath.Log(sumTop) : 0;
        if (bottom < shape.QueryLength) logSumExp[lseRow + bottom] = sumBottom > 0 ? maxBottom + XMath.Log(sumBottom) : 0;
    }

    /// <summary>
    /// The warp's 16 × 8·count tile L·Rᵀ (in register tile <paramref name="registers"/> on CUDA), fetched: rows
    /// row0..row0+15 of shared tile <paramref name="left"/> times the first 8·count rows of <paramref name="right"/>,
    /// over the head dimension. Scores Q·Kᵀ or K·Qᵀ, and dO·Vᵀ or V·dOᵀ.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Tile16x64 RowProducts(int registers, ArrayView<uint> left, ArrayView<uint> right, int row0, int stride, int dim, int count)
    {
        var product = Tile16x64.Zero(registers);
        for (var d0 = 0; d0 < dim; d0 += 16)
            product.Multiply(PaddedTile.A(left, stride, row0, d0), new RowsAsColumns(right, stride, 0, d0), count);
        return product.Fetched(count);
    }

    /// <summary>
    /// [low | high] += F·T for F the warp's 16 × 16·steps tile <paramref name="factors"/> (probabilities or score
    /// gradients, rounded to bfloat16 as A fragments) and T the shared tile's first 16·steps rows: columns 0–63 of T
    /// into <paramref name="low"/>, 64–127 into <paramref name="high"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyInto(ref Tile16x64 low, ref Tile16x64 high, Tile16x64 factors, int steps, ArrayView<uint> tile, int stride,
        int lowCount, int highCount)
    {
        for (var s = 0; s < steps; s++)
        {
            var a = factors.AsA(s);
            low.Multiply(a, new RowsAsRows(tile, stride, 16 * s, 0), lowCount);
            high.Multiply(a, new RowsAsRows(tile, stride, 16 * s, 64), highCount);
        }
    }

    /// <summary>
    /// The last key row i sees (causal, its sequence's length), or −1 for a padding row or one past the queries: its
    /// position, from which <see cref="Attention.Sees(int, int, int)"/> tells the keys it sees.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int LastVisibleKey(AttentionShape shape, int length, int i)
    {
        var position = shape.QueryStart + i;
        return i < shape.QueryLength && position < length ? position : -1;
    }

    /// <summary>The factor a running sum and output take when a row's maximum grows; 1 while the row has seen nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Rescale(float oldMax, float newMax) => oldMax == newMax ? 1 : XMath.Exp(oldMax - newMax);

    /// <summary>
    /// Writes (or, with <paramref name="add"/>, adds to) rows top and top + 8 of a warp's 16×(8·count) tile, columns
    /// column0.., rounded to bfloat16: row r of the target starts at first + r·pitch, and rows from limit on are not written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows(ArrayView<ushort> target, Tile16x64 tile, int first, int pitch, int top, int limit, int column0, int count, bool add)
    {
        var offset = first + top * pitch + column0 + 2 * (Warp.LaneIdx % 4);
        if (top < limit) StoreRow(target, offset, tile, count, bottom: false, add);
        if (top + 8 < limit) StoreRow(target, offset + 8 * pitch, tile, count, bottom: true, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(ArrayView<ushort> target, int offset, Tile16x64 tile, int count, bool bottom, bool add)
    {
        if (count > 0) StorePair(target, offset, tile.F0, bottom, add);
        if (count > 1) StorePair(target, offset + 8, tile.F1, bottom, add);
        if (count > 2) StorePair(target, offset + 16, tile.F2, bottom, add);
        if (count > 3) StorePair(target, offset + 24, tile.F3, bottom, add);
        if (count > 4) StorePair(target, offset + 32, tile.F4, bottom, add);
        if (count > 5) StorePair(target, offset + 40, tile.F5, bottom, add);
        if (count > 6) StorePair(target, offset + 48, tile.F6, bottom, add);
        if (count > 7) StorePair(target, offset + 56, tile.F7, bottom, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePair(ArrayView<ushort> target, int offset, Accumulator f, bool bottom, bool add)
    {
        float first = bottom ? f.C2 : f.C0, second = bottom ? f.C3 : f.C1;
        if (add) (first, second) = (first + BFloat16.ToFloat(target[offset]), second + BFloat16.ToFloat(target[offset + 1]));
        target[offset] = BFloat16.FromFloat(first);
        target[offset + 1] = BFloat16.FromFloat(second);
    }

    /// <summary>
    /// scale·(q·k) where the row sees the key (last − reach &lt; key ≤ last, the row's last visible key; a padding row's
    /// −1 sees none), −∞ elsewhere; columns are keys k0 + n8 + 2t (+1).
    /// </summary>
    private readonly struct CausalScores(float scale, int k0, int lastTop, int lastBottom, int reach) : IFragmentMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Accumulator Apply(Accumulator f, int n8)
        {
            var key = k0 + n8 + 2 * (Warp.LaneIdx % 4);
            return new Accumulator(
                Attention.Sees(reach, lastTop, key) ? f.C0 * scale : float.NegativeInfinity,
                Attention.Sees(reach, lastTop, key + 1) ? f.C1 * scale : float.NegativeInfinity,
                Attention.Sees(reach, lastBottom, key) ? f.C2 * scale : float.NegativeInfinity,
                Attention.Sees(reach, lastBottom, key + 1) ? f.C3 * scale : float.NegativeInfinity);
        }
    }

    /// <summary>exp(s − rowMax), 0 for a masked score (−∞), also when the whole row is masked.</summary>
    private readonly struct Exponentials(float maxTop, float maxBottom) : IFragmentMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Accumulator Apply(Accumulator f, int n8) =>
            new(Exp(f.C0, maxTop), Exp(f.C1, maxTop), Exp(f.C2, maxBottom), Exp(f.C3, maxBottom));

        private static float Exp(float score, float max) => score == float.NegativeInfinity ? 0 : XMath.Exp(score - max);
    }
}
