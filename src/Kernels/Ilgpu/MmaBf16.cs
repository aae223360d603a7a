using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// One warp-wide tensor-core product D = A·B + C with A 16×16 and B 16×8 in bfloat16, C and D 16×8 in float32: PTX's
/// <c>mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32</c>. Lane l holds, with g = l / 4 and t = l % 4 (PTX ISA,
/// "Matrix Fragments for mma.m16n8k16 with floating point type"):
/// A: A0 = row g, columns 2t and 2t+1 (low half = the even column); A1 = row g+8, same columns; A2 = row g, columns
/// 2t+8, 2t+9; A3 = row g+8, columns 2t+8, 2t+9. B: B0 = rows 2t, 2t+1 of column g; B1 = rows 2t+8, 2t+9 of column g.
/// C/D: C0, C1 = row g, columns 2t, 2t+1; C2, C3 = row g+8, columns 2t, 2t+1.
/// On CUDA the instruction itself runs (inline PTX through CudaAsm.Emit);
/// elsewhere (ILGPU's CPU simulator, warps of 32) the same fragments are exchanged with warp shuffles and multiplied in
/// float32, so tiling and indexing are tested without a GPU. A C fragment's layout is also an A fragment's: the two
/// 8-column halves of a 16×16 product, rounded to bfloat16 pairs, are the next product's A (flash attention's P·V).
/// </summary>
public static class MmaBf16
{
    /// <summary>
    /// The accumulators travel as two 64-bit values because Emit takes one output and nine inputs; the block is emitted
    /// twice (returning D0,D1 then D2,D3) and ptxas merges the identical mma instructions into one HMMA.
    /// </summary>
    private const string Product = "{ .reg .f32 c<4>, d<4>; mov.b64 {c0,c1}, %7; mov.b64 {c2,c3}, %8; " +
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {d0,d1,d2,d3}, {%1,%2,%3,%4}, {%5,%6}, {c0,c1,c2,c3}; ";

    /// <summary>D = A·B + C; every lane of a full warp of 32 must call it together, with the same control flow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Accumulator Multiply(FragmentA a, FragmentB b, Accumulator c)
    {
        if (!CudaAsm.IsSupported) return Emulated(a, b, c);
        ulong c01 = Pair(c.C0, c.C1), c23 = Pair(c.C2, c.C3);
        CudaAsm.Emit(Product + "mov.b64 %0, {d0,d1}; }", out ulong d01, a.A0, a.A1, a.A2, a.A3, b.B0, b.B1, c01, c23);
        CudaAsm.Emit(Product + "mov.b64 %0, {d2,d3}; }", out ulong d23, a.A0, a.A1, a.A2, a.A3, b.B0, b.B1, c01, c23);
        return new Accumulator(Low(d01), High(d01), Low(d23), High(d23));
    }

    /// <summary>Two floats rounded to bfloat16 (nearest even) in one register, <paramref name="low"/> in the low half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Pack(float low, float high) => BFloat16.FromFloat(low) | (uint)BFloat16.FromFloat(high) << 16;

    /// <summary>Two stored bfloat16 words in one register, <paramref name="low"/> in the low half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Pack(ushort low, ushort high) => low | (uint)high << 16;

    /// <summary>
    /// The A fragment of the 16×16 matrix [left | right] made of two accumulators (columns 0–7 and 8–15), rounded to
    /// bfloat16: how probabilities computed by one product feed the next without leaving registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FragmentA ToA(Accumulator left, Accumulator right) =>
        new(Pack(left.C0, left.C1), Pack(left.C2, left.C3), Pack(right.C0, right.C1), Pack(right.C2, right.C3));

    /// <summary>
    /// The instruction's arithmetic from its fragment layout: lane (g, t) gathers rows g and g+8 of A from lanes 4g..4g+3
    /// and columns 2t and 2t+1 of B from lanes 8t..8t+3 and 8t+4..8t+7, then sums the 16 products per element in float32
    /// (each product of two bfloat16 values is exact in float32, as on the tensor core). Whole fragments travel in one
    /// shuffle each: on the simulator every shuffle is a barrier of the warp's threads, the cost that matters there.
    /// </summary>
    private static Accumulator Emulated(FragmentA a, FragmentB b, Accumulator c)
    {
        var lane = Warp.LaneIdx;
        int rowLanes = lane & ~3, evenColumnLanes = 8 * (lane & 3), oddColumnLanes = evenColumnLanes + 4;
        float d0 = 0, d1 = 0, d2 = 0, d3 = 0;
        for (var q = 0; q < 4; q++)
        {
            // Lane q of a quad holds k = 2q, 2q+1 (A0/A1, B0) and 2q+8, 2q+9 (A2/A3, B1).
            var rows = Warp.Shuffle(a, rowLanes + q);
            FragmentB even = Warp.Shuffle(b, evenColumnLanes + q), odd = Warp.Shuffle(b, oddColumnLanes + q);
            d0 += Dot(rows.A0, even.B0) + Dot(rows.A2, even.B1);
            d1 += Dot(rows.A0, odd.B0) + Dot(rows.A2, odd.B1);
            d2 += Dot(rows.A1, even.B0) + Dot(rows.A3, even.B1);
            d3 += Dot(rows.A1, odd.B0) + Dot(rows.A3, odd.B1);
        }
        return new Accumulator(c.C0 + d0, c.C1 + d1, c.C2 + d2, c.C3 + d3);
    }

    /// <summary>The dot product of two bfloat16 pairs: each product exact in float32 (8-bit significands), summed in float32.</summary>
    internal static float Dot(uint x, uint y) => Low16(x) * Low16(y) + High16(x) * High16(y);

    private static float Low16(uint pair) => BFloat16.ToFloat((ushort)pair);

    private static float High16(uint pair) => BFloat16.ToFloat((ushort)(pair >> 16));

    private static ulong Pair(float low, float high) => Interop.FloatAsInt(low) | (ulong)Interop.FloatAsInt(high) << 32;

    private static float Low(ulong pair) => Interop.IntAsFloat((uint)pair);

    private static float High(ulong pair) => Interop.IntAsFloat((uint)(pair >> 32));

    /// <summary>A 16×16 bfloat16 A operand, four registers of two values each (layout above).</summary>
    public readonly record struct FragmentA(uint A0, uint A1, uint A2, uint A3);

    /// <summary>A 16×8 bfloat16 B operand, two registers of two values each (layout above).</summary>
    public readonly record struct FragmentB(uint B0, uint B1);

    /// <summary>A 16×8 float32 C or D tile: C0, C1 in row g, C2, C3 in row g+8 (layout above).</summary>
    public readonly record struct Accumulator(float C0, float C1, float C2, float C3);
}
