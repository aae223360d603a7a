using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime.Cuda;
using static SimNpo.Kernels.Ilgpu.MmaBf16;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// FlashAttention-2's backward in three launches: D_i = dO_i·O_i per query row; dK and dV per block of keys over every
/// query row (and every query head of the kv head's group) that sees them; dQ per block of query rows over the keys it
/// sees. dQ is a pass of its own rather than atomics from the key blocks: each query row's gradient is summed in one
/// warp's registers and written once, so there is no float32 copy of dQ, no atomic traffic, and the result does not
/// depend on scheduling; the price is recomputing Q·Kᵀ and dO·Vᵀ (7 products per tile pair instead of 5).
/// Probabilities come back from the forward's log-sum-exp, P_ij = exp(scale·q_i·k_j − lse_i), dS_ij = P_ij(dO_i·v_j − D_i);
/// P and dS are rounded to bfloat16 as A fragments of the products dV += Pᵀ·dO, dK += dSᵀ·Q and dQ += dS·K.
/// </summary>
public static partial class AttentionBf16
{
    /// <summary>D_i = Σ_d dO_id·O_id in float32, one thread per query row, laid out as the log-sum-exp.</summary>
    private static void RowDeltaKernel(Index1D row, ArrayView<float> delta, ArrayView<ushort> outputGrad, ArrayView<ushort> output, AttentionShape shape)
    {
        var (bh, i) = (row / shape.QueryLength, row % shape.QueryLength);
        var offset = Attention.QueryOffset(shape, bh / shape.Heads, i, bh % shape.Heads);
        var sum = 0f;
        for (var d = 0; d < shape.HeadDim; d++) sum += BFloat16.ToFloat(outputGrad[offset + d]) * BFloat16.ToFloat(output[offset + d]);
        delta[row] = sum;
    }

    private static void QueryGradKernel(ArrayView<ushort> qGrad, ArrayView<ushort> outputGrad, ArrayView<ushort> q, ArrayView<ushort> k,
        ArrayView<ushort> v, ArrayView<float> logSumExp, ArrayView<float> delta, ArrayView<int> lengths, AttentionShape shape, float scale) =>
        QueryGrad(qGrad, outputGrad, q, k, v, logSumExp, delta, lengths, shape, scale, NarrowKeys, wide: false);

    private static void QueryGradWideKernel(ArrayView<ushort> qGrad, ArrayView<ushort> outputGrad, ArrayView<ushort> q, ArrayView<ushort> k,
        ArrayView<ushort> v, ArrayView<float> logSumExp, ArrayView<float> delta, ArrayView<int> lengths, AttentionShape shape, float scale) =>
        QueryGrad(qGrad, outputGrad, q, k, v, logSumExp, delta, lengths, shape, scale, WideKeys, wide: true);

    /// <summary>
    /// The forward's shape (a group per block of 16·warps query rows, head and sequence; a warp per 16 rows), with dO
    /// staged beside Q and each key block's S = Q·Kᵀ and dP = dO·Vᵀ recomputed; the warp's 16 × dim query gradient stays
    /// in registers over all key blocks and is added to qGrad once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QueryGrad(ArrayView<ushort> qGrad, ArrayView<ushort> outputGrad, ArrayView<ushort> q, ArrayView<ushort> k,
        ArrayView<ushort> v, ArrayView<float> logSumExp, ArrayView<float> delta, ArrayView<int> lengths, AttentionShape shape, float scale,
        int keyTile, bool wide)
    {
        if (CudaAsm.IsSupported) PtxTiles.Declare();
        int dim = shape.HeadDim, warps = Group.DimX / Warp.WarpSize, warp = Warp.WarpIdx, lane = Warp.LaneIdx;
        int b = Grid.IdxZ, h = Grid.IdxY, kvHead = h / (shape.Heads / shape.KvHeads), length = lengths[b];
        int rows = 16 * warps, firstRow = Grid.IdxX * rows, stride = PaddedTile.Stride(dim);
        var shared = SharedMemory.GetDynamic<uint>();
        var queries = shared.SubView(0, rows * stride);
        var outputGrads = shared.SubView(rows * stride, rows * stride);
        var keys = shared.SubView(2 * rows * stride, keyTile * stride);
        var values = shared.SubView((2 * rows + keyTile) * stride, keyTile * stride);

        var queryRows = Math.Min(rows, shape.QueryLength - firstRow);
        var rowStart = Attention.QueryOffset(shape, b, firstRow, h);
        PaddedTile.Load(queries, q, rowStart, shape.QueryWidth, rows, queryRows, dim);
        PaddedTile.Load(outputGrads, outputGrad, rowStart, shape.QueryWidth, rows, queryRows, dim);
        int top = firstRow + 16 * warp + lane / 4, bottom = top + 8, statRow = (b * shape.Heads + h) * shape.QueryLength;
        var (lastTop, lastBottom) = (LastVisibleKey(shape, length, top), LastVisibleKey(shape, length, bottom));
        float lseTop = lastTop >= 0 ? logSumExp[statRow + top] : 0, lseBottom = lastBottom >= 0 ? logSumExp[statRow + bottom] : 0;
        float deltaTop = lastTop >= 0 ? delta[statRow + top] : 0, deltaBottom = lastBottom >= 0 ? delta[statRow + bottom] : 0;
        var blockKeys = shape.QueryStart + firstRow < length ? Math.Min(shape.QueryStart + firstRow + queryRows, length) : 0;
        var blockFirstKey = Attention.FirstVisibleKey(shape, shape.QueryStart + firstRow) / keyTile * keyTile;
        var warpLastKey = shape.QueryStart + firstRow + 16 * warp + 15;
        var warpFirstKey = Attention.FirstVisibleKey(shape, shape.QueryStart + firstRow + 16 * warp);
        int gradTiles = wide ? 8 : dim / 8, wideTiles = wide ? dim / 8 - 8 : 0, reach = Attention.Reach(shape);

        var low = Tile16x64.Zero(LowRegisters);
        var high = Tile16x64.Zero(HighRegisters);
        for (var k0 = blockFirstKey; k0 < blockKeys; k0 += keyTile)
        {
            Group.Barrier();
            var keyStart = Attention.KeyOffset(shape, b, k0, kvHead);
            var keyRows = Math.Min(keyTile, blockKeys - k0);
            PaddedTile.Load(keys, k, keyStart, shape.KvWidth, keyTile, keyRows, dim);
            PaddedTile.Load(values, v, keyStart, shape.KvWidth, keyTile, keyRows, dim);
            Group.Barrier();
            if (16 * warp >= queryRows || k0 > warpLastKey || k0 + keyTile <= warpFirstKey) continue; // as in the forward

            var scores = RowProducts(ScoreRegisters, queries, keys, 16 * warp, stride, dim, keyTile / 8);
            var valueProducts = RowProducts(ProductRegisters, outputGrads, values, 16 * warp, stride, dim, keyTile / 8);
            scores.Map(new RowProbabilities(scale, k0, lastTop, lastBottom, lseTop, lseBottom, reach), keyTile / 8);
            scores.Zip(valueProducts, new RowScoreGrads(deltaTop, deltaBottom), keyTile / 8);
            MultiplyInto(ref low, ref high, scores, keyTile / 16, keys, stride, gradTiles, wideTiles);
        }
        low.ScaleRows(scale, scale, gradTiles);
        high.ScaleRows(scale, scale, wideTiles);
        var gradStart = Attention.QueryOffset(shape, b, 0, h);
        // Padding rows have no gradient: their tile rows are 0, and adding 0 leaves a stored bfloat16 as it was.
        StoreRows(qGrad, low.Fetched(gradTiles), gradStart, shape.QueryWidth, top, shape.QueryLength, 0, gradTiles, add: true);
        StoreRows(qGrad, high.Fetched(wideTiles), gradStart, shape.QueryWidth, top, shape.QueryLength, 64, wideTiles, add: true);
    }

    private static void KeyValueGradKernel(ArrayView<ushort> kGrad, ArrayView<ushort> vGrad, ArrayView<ushort> outputGrad, ArrayView<ushort> q,
        ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> logSumExp, ArrayView<float> delta, ArrayView<int> lengths, AttentionShape shape,
        float scale) =>
        KeyValueGrad(kGrad, vGrad, outputGrad, q, k, v, logSumExp, delta, lengths, shape, scale, NarrowQueries, wide: false);

    private static void KeyValueGradWideKernel(ArrayView<ushort> kGrad, ArrayView<ushort> vGrad, ArrayView<ushort> outputGrad, ArrayView<ushort> q,
        ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> logSumExp, ArrayView<float> delta, ArrayView<int> lengths, AttentionShape shape,
        float scale) =>
        KeyValueGrad(kGrad, vGrad, outputGrad, q, k, v, logSumExp, delta, lengths, shape, scale, WideQueries, wide: true);

    /// <summary>
    /// One group per (block of 16·warps keys, kv head, sequence); warp w owns keys 16w..16w+15 of the block, whose K and
    /// V stay in shared memory. For each query head of the kv head's group and each block of <paramref name="queryTile"/>
    /// query rows that sees a key of the block, the group stages Q, dO, lse and D; each warp computes Sᵀ = K·Qᵀ and
    /// dPᵀ = V·dOᵀ (16 keys × queryTile queries), turns them into Pᵀ and dSᵀ, and adds Pᵀ·dO to its dV tile and dSᵀ·Q
    /// to its dK tile. GQA's sum over the group's heads happens in those registers; each key's gradients are written once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KeyValueGrad(ArrayView<ushort> kGrad, ArrayView<ushort> vGrad, ArrayView<ushort> outputGrad, ArrayView<ushort> q,
        ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> logSumExp, ArrayView<float> delta, ArrayView<int> lengths, AttentionShape shape,
        float scale, int queryTile, bool wide)
    {
        if (CudaAsm.IsSupported) PtxTiles.Declare();
        int dim = shape.HeadDim, warps = Group.DimX / Warp.WarpSize, warp = Warp.WarpIdx, lane = Warp.LaneIdx;
        int kvHead = Grid.IdxY, b = Grid.IdxZ, length = lengths[b], blockKeys = 16 * warps, k0 = Grid.IdxX * blockKeys;
        if (k0 >= length) return; // padding keys: no query sees them (the whole group leaves)
        var stride = PaddedTile.Stride(dim);
        var shared = SharedMemory.GetDynamic<uint>();
        var keys = shared.SubView(0, blockKeys * stride);
        var values = shared.SubView(blockKeys * stride, blockKeys * stride);
        var queries = shared.SubView(2 * blockKeys * stride, queryTile * stride);
        var outputGrads = shared.SubView((2 * blockKeys + queryTile) * stride, queryTile * stride);
        var lses = shared.SubView(2 * (blockKeys + queryTile) * stride, queryTile);
        var deltas = shared.SubView(2 * (blockKeys + queryTile) * stride + queryTile, queryTile);

        var keyStart = Attention.KeyOffset(shape, b, k0, kvHead);
        PaddedTile.Load(keys, k, keyStart, shape.KvWidth, blockKeys, Math.Min(blockKeys, length - k0), dim);
        PaddedTile.Load(values, v, keyStart, shape.KvWidth, blockKeys, Math.Min(blockKeys, length - k0), dim);
        int top = k0 + 16 * warp + lane / 4, warpFirstKey = k0 + 16 * warp;
        // The query rows that see a key of this block: from position k0 on, not padding, and (window) before the last key's sight ends.
        var lastKey = Math.Min(k0 + blockKeys, length) - 1;
        int firstRow = Math.Max(0, k0 - shape.QueryStart);
        var endRow = Math.Min(length - shape.QueryStart, Attention.EndOfSightRow(shape, lastKey));
        int gradTiles = wide ? 8 : dim / 8, wideTiles = wide ? dim / 8 - 8 : 0, group = shape.Heads / shape.KvHeads, reach = Attention.Reach(shape);

        var keyLow = Tile16x64.Zero(LowRegisters);
        var keyHigh = Tile16x64.Zero(HighRegisters);
        var valueLow = Tile16x64.Zero(ValueLowRegisters);
        var valueHigh = Tile16x64.Zero(ValueHighRegisters);
        for (var h = kvHead * group; h < (kvHead + 1) * group; h++)
            for (var i0 = firstRow; i0 < endRow; i0 += queryTile)
            {
                Group.Barrier(); // the previous rows are used up (and the first time: keys and values are written)
                var queryRows = Math.Min(queryTile, endRow - i0);
                var rowStart = Attention.QueryOffset(shape, b, i0, h);
                PaddedTile.Load(queries, q, rowStart, shape.QueryWidth, queryTile, queryRows, dim);
                PaddedTile.Load(outputGrads, outputGrad, rowStart, shape.QueryWidth, queryTile, queryRows, dim);
                var statStart = (b * shape.Heads + h) * shape.QueryLength + i0;
                for (var e = Group.IdxX; e < queryTile; e += Group.DimX)
                {
                    lses[e] = e < queryRows ? Interop.FloatAsInt(logSumExp[statStart + e]) : 0u;
                    deltas[e] = e < queryRows ? Interop.FloatAsInt(delta[statStart + e]) : 0u;
                }
                Group.Barrier();
                // Uniform per warp: its keys are padding, or every row of the block precedes them, or (window) is past their sight.
                if (warpFirstKey >= length || warpFirstKey > shape.QueryStart + i0 + queryRows - 1
                    || Attention.PastSight(reach, shape.QueryStart + i0, warpFirstKey + 15)) continue;

                var scores = RowProducts(ScoreRegisters, keys, queries, 16 * warp, stride, dim, queryTile / 8);
                var valueProducts = RowProducts(ProductRegisters, values, outputGrads, 16 * warp, stride, dim, queryTile / 8);
                scores.Map(new ColumnProbabilities(scale, top, shape.QueryStart + i0, queryRows, lses, reach), queryTile / 8);
                MultiplyInto(ref valueLow, ref valueHigh, scores, queryTile / 16, outputGrads, stride, gradTiles, wideTiles);
                scores.Zip(valueProducts, new ColumnScoreGrads(deltas), queryTile / 8);
                MultiplyInto(ref keyLow, ref keyHigh, scores, queryTile / 16, queries, stride, gradTiles, wideTiles);
            }
        keyLow.ScaleRows(scale, scale, gradTiles);
        keyHigh.ScaleRows(scale, scale, wideTiles);
        var gradStart = Attention.KeyOffset(shape, b, 0, kvHead);
        StoreRows(kGrad, keyLow.Fetched(gradTiles), gradStart, shape.KvWidth, top, length, 0, gradTiles, add: true);
        StoreRows(kGrad, keyHigh.Fetched(wideTiles), gradStart, shape.KvWidth, top, length, 64, wideTiles, add: true);
        StoreRows(vGrad, valueLow.Fetched(gradTiles), gradStart, shape.KvWidth, top, length, 0, gradTiles, add: true);
        StoreRows(vGrad, valueHigh.Fetched(wideTiles), gradStart, shape.KvWidth, top, length, 64, wideTiles, add: true);
    }

    /// <summary>
    /// Rows are queries, columns keys k0 + n8 + 2t (+1): P = exp(scale·s − lse) where the row sees the key (as in
    /// <see cref="CausalScores"/>), else 0.
    /// </summary>
    private readonly struct RowProbabilities(float scale, int k0, int lastTop, int lastBottom, float lseTop, float lseBottom, int reach) : IFragmentMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Accumulator Apply(Accumulator f, int n8)
        {
            var key = k0 + n8 + 2 * (Warp.LaneIdx % 4);
            return new Accumulator(
                Attention.Sees(reach, lastTop, key) ? XMath.Exp(f.C0 * scale - lseTop) : 0,
                Attention.Sees(reach, lastTop, key + 1) ? XMath.Exp(f.C1 * scale - lseTop) : 0,
                Attention.Sees(reach, lastBottom, key) ? XMath.Exp(f.C2 * scale - lseBottom) : 0,
                Attention.Sees(reach, lastBottom, key + 1) ? XMath.Exp(f.C3 * scale - lseBottom) : 0);
        }
    }

    /// <summary>dS = P ∘ (dP − D) with D per row.</summary>
    private readonly struct RowScoreGrads(float deltaTop, float deltaBottom) : IFragmentZip
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Accumulator Apply(Accumulator p, Accumulator dp, int n8) =>
            new(p.C0 * (dp.C0 - deltaTop), p.C1 * (dp.C1 - deltaTop), p.C2 * (dp.C2 - deltaBottom), p.C3 * (dp.C3 - deltaBottom));
    }

    /// <summary>
    /// Rows are keys (top and top + 8), columns the staged query rows n8 + 2t (+1) at positions firstPosition + column:
    /// Pᵀ = exp(scale·s − lse[column]) where the query sees the key (position − reach &lt; key ≤ position; the staged rows
    /// are not padding), else 0.
    /// </summary>
    private readonly struct ColumnProbabilities(float scale, int top, int firstPosition, int queryRows, ArrayView<uint> lses, int reach) : IFragmentMap
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Accumulator Apply(Accumulator f, int n8)
        {
            var column = n8 + 2 * (Warp.LaneIdx % 4);
            float lse0 = Interop.IntAsFloat(lses[column]), lse1 = Interop.IntAsFloat(lses[column + 1]);
            bool seen0 = column < queryRows, seen1 = column + 1 < queryRows;
            int position0 = firstPosition + column, position1 = position0 + 1;
            return new Accumulator(
                seen0 && Attention.Sees(reach, position0, top) ? XMath.Exp(f.C0 * scale - lse0) : 0,
                seen1 && Attention.Sees(reach, position1, top) ? XMath.Exp(f.C1 * scale - lse1) : 0,
                seen0 && Attention.Sees(reach, position0, top + 8) ? XMath.Exp(f.C2 * scale - lse0) : 0,
                seen1 && Attention.Sees(reach, position1, top + 8) ? XMath.Exp(f.C3 * scale - lse1) : 0);
        }
    }

    /// <summary>dSᵀ = Pᵀ ∘ (dPᵀ − D[column]).</summary>
    private readonly struct ColumnScoreGrads(ArrayView<uint> deltas) : IFragmentZip
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Accumulator Apply(Accumulator p, Accumulator dp, int n8)
        {
            var column = n8 + 2 * (Warp.LaneIdx % 4);
            float delta0 = Interop.IntAsFloat(deltas[column]), delta1 = Interop.IntAsFloat(deltas[column + 1]);
            return new Accumulator(p.C0 * (dp.C0 - delta0), p.C1 * (dp.C1 - delta1), p.C2 * (dp.C2 - delta0), p.C3 * (dp.C3 - delta1));
        }
    }
}
