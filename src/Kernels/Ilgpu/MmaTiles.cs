using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;
using static SimNpo.Kernels.Ilgpu.MmaBf16;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// Shared-memory tiles of bfloat16 rows for <see cref="MmaBf16"/>: a tile of R rows and C columns is stored as rows of
/// C/2 + 4 words (two values per word, the even column in the low half). The 4 padding words put the 8 rows a fragment
/// load touches in distinct banks, for direct and transposed reads alike, and keep rows 16-byte aligned.
/// </summary>
internal static class PaddedTile
{
    /// <summary>Words per stored row of a tile whose rows hold <paramref name="columns"/> values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Stride(int columns) => columns / 2 + 4;

    /// <summary>
    /// The group copies rows [0, <paramref name="rows"/>) of a row-major bfloat16 matrix, row r starting at
    /// <paramref name="first"/> + r·<paramref name="rowPitch"/>, into <paramref name="tile"/>; rows from
    /// <paramref name="valid"/> on are zeros (padding: zeros keep 0·x finite in the products).
    /// </summary>
    public static void Load(ArrayView<uint> tile, ArrayView<ushort> source, int first, int rowPitch, int rows, int valid, int columns)
    {
        int pairs = columns / 2, stride = Stride(columns);
        for (var e = Group.IdxX; e < rows * pairs; e += Group.DimX)
        {
            int r = e / pairs, c = e - r * pairs;
            var offset = first + r * rowPitch + 2 * c;
            tile[r * stride + c] = r < valid ? Pack(source[offset], source[offset + 1]) : 0u;
        }
    }

    /// <summary>The A fragment of rows row0..row0+15, columns k0..k0+15 of a tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FragmentA A(ArrayView<uint> tile, int stride, int row0, int k0)
    {
        int lane = Warp.LaneIdx, top = (row0 + lane / 4) * stride + k0 / 2 + lane % 4, bottom = top + 8 * stride;
        return new FragmentA(tile[top], tile[bottom], tile[top + 4], tile[bottom + 4]);
    }

    /// <summary>Two bfloat16 values of one tile column, rows <paramref name="row"/> and row + 1, as one register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ColumnPair(ArrayView<uint> tile, int stride, int row, int column)
    {
        int word = row * stride + column / 2, shift = 16 * (column & 1);
        return (tile[word] >> shift & 0xFFFFu) | (tile[word + stride] >> shift) << 16;
    }
}

/// <summary>Where a product's B fragments come from: <see cref="Load"/> gives the fragment of output columns n8..n8+7.</summary>
internal interface IFragmentBSource
{
    FragmentB Load(int n8);
}

/// <summary>B[k][n] = tile[n0 + n][k0 + k]: the tile's rows are B's columns (keys in Q·Kᵀ, or queries in K·Qᵀ).</summary>
internal readonly struct RowsAsColumns(ArrayView<uint> tile, int stride, int n0, int k0) : IFragmentBSource
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FragmentB Load(int n8)
    {
        var lane = Warp.LaneIdx;
        var word = (n0 + n8 + lane / 4) * stride + k0 / 2 + lane % 4;
        return new FragmentB(tile[word], tile[word + 4]);
    }
}

/// <summary>B[k][n] = tile[k0 + k][n0 + n]: the tile as it stands (values in P·V, keys in dS·K): transposed reads, as ldmatrix .trans does.</summary>
internal readonly struct RowsAsRows(ArrayView<uint> tile, int stride, int k0, int n0) : IFragmentBSource
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FragmentB Load(int n8)
    {
        int lane = Warp.LaneIdx, row = k0 + 2 * (lane % 4), column = n0 + n8 + lane / 4;
        return new FragmentB(PaddedTile.ColumnPair(tile, stride, row, column), PaddedTile.ColumnPair(tile, stride, row + 8, column));
    }
}

/// <summary>An elementwise map of one accumulator whose first column is <c>n8</c> within the tile.</summary>
internal interface IFragmentMap
{
    Accumulator Apply(Accumulator f, int n8);
}

/// <summary>An elementwise map of two accumulators at the same place in two tiles.</summary>
internal interface IFragmentZip
{
    Accumulator Apply(Accumulator f, Accumulator g, int n8);
}

/// <summary>
/// A warp's 16×64 float32 tile as eight 16×8 accumulators F0..F7 (registers: ILGPU 1.5.3 does not unroll loops, so
/// the eight are spelled out). Methods take <c>count</c>, the accumulators in use: pass a constant where it is one, so
/// the unused accumulators vanish from the compiled kernel.
/// On CUDA, products accumulate in PTX register tile <c>registers</c> (<see cref="PtxTiles"/>, declared by the kernel)
/// rather than in F0..F7, and <see cref="Fetched"/> copies them into F0..F7; elsewhere the fields are the tile and
/// <see cref="Fetched"/> is the tile itself. So: products and <see cref="ScaleRows"/> first, then Fetched, then the
/// elementwise methods (Map, Zip, AsA, LaneMax, LaneSum), which read F0..F7.
/// </summary>
internal struct Tile16x64(int registers)
{
    public Accumulator F0, F1, F2, F3, F4, F5, F6, F7;

    /// <summary>A zero tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Tile16x64 Zero(int registers)
    {
        if (CudaAsm.IsSupported) PtxTiles.Zero(registers);
        return new Tile16x64(registers);
    }

    /// <summary>this += A·B for the first <paramref name="count"/> accumulators: 16 rows × 8·count columns, depth 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Multiply<TSource>(FragmentA a, TSource b, int count) where TSource : struct, IFragmentBSource
    {
        if (count > 0) F0 = Product(0, a, b.Load(0), F0);
        if (count > 1) F1 = Product(1, a, b.Load(8), F1);
        if (count > 2) F2 = Product(2, a, b.Load(16), F2);
        if (count > 3) F3 = Product(3, a, b.Load(24), F3);
        if (count > 4) F4 = Product(4, a, b.Load(32), F4);
        if (count > 5) F5 = Product(5, a, b.Load(40), F5);
        if (count > 6) F6 = Product(6, a, b.Load(48), F6);
        if (count > 7) F7 = Product(7, a, b.Load(56), F7);
    }

    /// <summary>Row g times <paramref name="top"/>, row g + 8 times <paramref name="bottom"/>: before <see cref="Fetched"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ScaleRows(float top, float bottom, int count)
    {
        if (count == 0) return;
        if (CudaAsm.IsSupported) PtxTiles.ScaleRows(registers, top, bottom);
        else Map(new ScaleRows(top, bottom), count);
    }

    /// <summary>The tile with its values in F0..F7 (see the type's summary).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Tile16x64 Fetched(int count)
    {
        if (!CudaAsm.IsSupported) return this;
        var tile = new Tile16x64(registers);
        if (count > 0) tile.F0 = Get(0);
        if (count > 1) tile.F1 = Get(1);
        if (count > 2) tile.F2 = Get(2);
        if (count > 3) tile.F3 = Get(3);
        if (count > 4) tile.F4 = Get(4);
        if (count > 5) tile.F5 = Get(5);
        if (count > 6) tile.F6 = Get(6);
        if (count > 7) tile.F7 = Get(7);
        return tile;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Accumulator Product(int n, FragmentA a, FragmentB b, Accumulator c)
    {
        if (!CudaAsm.IsSupported) return MmaBf16.Multiply(a, b, c);
        PtxTiles.Multiply(registers, n, a.A0, a.A1, a.A2, a.A3, b.B0, b.B1);
        return c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Accumulator Get(int n)
    {
        ulong top = PtxTiles.Get(registers, n, bottom: false), bottom = PtxTiles.Get(registers, n, bottom: true);
        return new Accumulator(Interop.IntAsFloat((uint)top), Interop.IntAsFloat((uint)(top >> 32)),
            Interop.IntAsFloat((uint)bottom), Interop.IntAsFloat((uint)(bottom >> 32)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Map<TMap>(TMap map, int count) where TMap : struct, IFragmentMap
    {
        if (count > 0) F0 = map.Apply(F0, 0);
        if (count > 1) F1 = map.Apply(F1, 8);
        if (count > 2) F2 = map.Apply(F2, 16);
        if (count > 3) F3 = map.Apply(F3, 24);
        if (count > 4) F4 = map.Apply(F4, 32);
        if (count > 5) F5 = map.Apply(F5, 40);
        if (count > 6) F6 = map.Apply(F6, 48);
        if (count > 7) F7 = map.Apply(F7, 56);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Zip<TZip>(Tile16x64 other, TZip zip, int count) where TZip : struct, IFragmentZip
    {
        if (count > 0) F0 = zip.Apply(F0, other.F0, 0);
        if (count > 1) F1 = zip.Apply(F1, other.F1, 8);
        if (count > 2) F2 = zip.Apply(F2, other.F2, 16);
        if (count > 3) F3 = zip.Apply(F3, other.F3, 24);
        if (count > 4) F4 = zip.Apply(F4, other.F4, 32);
        if (count > 5) F5 = zip.Apply(F5, other.F5, 40);
        if (count > 6) F6 = zip.Apply(F6, other.F6, 48);
        if (count > 7) F7 = zip.Apply(F7, other.F7, 56);
    }

    /// <summary>Columns 16s..16s+15 rounded to bfloat16 as an A fragment: this tile's probabilities as the next product's left side.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly FragmentA AsA(int s) =>
        s == 0 ? ToA(F0, F1) : s == 1 ? ToA(F2, F3) : s == 2 ? ToA(F4, F5) : ToA(F6, F7);

    /// <summary>The largest value in this lane's part of row g (Item1) and of row g + 8 (Item2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly (float Top, float Bottom) LaneMax(int count)
    {
        float top = float.NegativeInfinity, bottom = float.NegativeInfinity;
        if (count > 0) (top, bottom) = (Max3(top, F0.C0, F0.C1), Max3(bottom, F0.C2, F0.C3));
        if (count > 1) (top, bottom) = (Max3(top, F1.C0, F1.C1), Max3(bottom, F1.C2, F1.C3));
        if (count > 2) (top, bottom) = (Max3(top, F2.C0, F2.C1), Max3(bottom, F2.C2, F2.C3));
        if (count > 3) (top, bottom) = (Max3(top, F3.C0, F3.C1), Max3(bottom, F3.C2, F3.C3));
        if (count > 4) (top, bottom) = (Max3(top, F4.C0, F4.C1), Max3(bottom, F4.C2, F4.C3));
        if (count > 5) (top, bottom) = (Max3(top, F5.C0, F5.C1), Max3(bottom, F5.C2, F5.C3));
        if (count > 6) (top, bottom) = (Max3(top, F6.C0, F6.C1), Max3(bottom, F6.C2, F6.C3));
        if (count > 7) (top, bottom) = (Max3(top, F7.C0, F7.C1), Max3(bottom, F7.C2, F7.C3));
        return (top, bottom);
    }

    /// <summary>This lane's part of the sums of row g and row g + 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly (float Top, float Bottom) LaneSum(int count)
    {
        float top = 0, bottom = 0;
        if (count > 0) (top, bottom) = (top + F0.C0 + F0.C1, bottom + F0.C2 + F0.C3);
        if (count > 1) (top, bottom) = (top + F1.C0 + F1.C1, bottom + F1.C2 + F1.C3);
        if (count > 2) (top, bottom) = (top + F2.C0 + F2.C1, bottom + F2.C2 + F2.C3);
        if (count > 3) (top, bottom) = (top + F3.C0 + F3.C1, bottom + F3.C2 + F3.C3);
        if (count > 4) (top, bottom) = (top + F4.C0 + F4.C1, bottom + F4.C2 + F4.C3);
        if (count > 5) (top, bottom) = (top + F5.C0 + F5.C1, bottom + F5.C2 + F5.C3);
        if (count > 6) (top, bottom) = (top + F6.C0 + F6.C1, bottom + F6.C2 + F6.C3);
        if (count > 7) (top, bottom) = (top + F7.C0 + F7.C1, bottom + F7.C2 + F7.C3);
        return (top, bottom);
    }

    private static float Max3(float a, float b, float c) => Math.Max(a, Math.Max(b, c));
}

/// <summary>Row g is scaled by Top, row g + 8 by Bottom: flash attention's rescaling when a row's maximum grows.</summary>
internal readonly struct ScaleRows(float top, float bottom) : IFragmentMap
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Accumulator Apply(Accumulator f, int n8) => new(f.C0 * top, f.C1 * top, f.C2 * bottom, f.C3 * bottom);
}

/// <summary>Reductions over the four lanes of a quad, which together hold a fragment row.</summary>
internal static class Quad
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(float value)
    {
        value = Math.Max(value, Warp.ShuffleXor(value, 1));
        return Math.Max(value, Warp.ShuffleXor(value, 2));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(float value)
    {
        value += Warp.ShuffleXor(value, 1);
        return value + Warp.ShuffleXor(value, 2);
    }
}
