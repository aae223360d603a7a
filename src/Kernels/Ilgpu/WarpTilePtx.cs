using System.Runtime.CompilerServices;
using ILGPU.Runtime.Cuda;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// A warp's 64 × 32 block of C on the tensor cores, as inline PTX (CUDA only; <see cref="WarpTileEmulation"/> is the same
/// on ILGPU's CPU simulator). Each thread's 64 float32 accumulators (4 × 4 mma tiles of 16 × 8, 4 each) and its fragment
/// registers are PTX registers declared once at function scope and named by every later block, so they never pass through
/// ILGPU values: ILGPU 1.5.3 routes the out operands of <see cref="CudaAsm"/> through local memory (a store and a load per
/// value, which ptxas does not remove), and one out operand could not carry an mma's four results anyway. The only
/// operands are shared-memory byte offsets in, so the main loop is ldmatrix and mma with nothing in between.
///
/// Shared addresses are __dyn_shared_alloca (ILGPU 1.5.3's name for the dynamic shared memory) plus a byte offset; global
/// ones a device address converted with cvta. Every helper is inlined into the kernel: the named registers exist only
/// in the kernel's own PTX function. The staging strings, one per half of the accumulators, are generated
/// (WarpTilePtx.g.cs, by tools/codegen/ptx_tiles.py).
/// </summary>
internal static partial class WarpTilePtx
{
    /// <summary>acc16i+4j.. are tile (i, j)'s d0..d3; fa4i..4i+3 are m16 tile i's A fragment; fb2j, fb2j+1 n8 tile j's B fragment.</summary>
    private const string Declarations = ".reg .f32 acc<64>; .reg .b32 fa<16>, fb<8>; ";

    private const string Zeros =
        "mov.f32 acc0, 0f00000000; mov.f32 acc1, 0f00000000; mov.f32 acc2, 0f00000000; mov.f32 acc3, 0f00000000; " +
        "mov.f32 acc4, 0f00000000; mov.f32 acc5, 0f00000000; mov.f32 acc6, 0f00000000; mov.f32 acc7, 0f00000000; " +
        "mov.f32 acc8, 0f00000000; mov.f32 acc9, 0f00000000; mov.f32 acc10, 0f00000000; mov.f32 acc11, 0f00000000; " +
        "mov.f32 acc12, 0f00000000; mov.f32 acc13, 0f00000000; mov.f32 acc14, 0f00000000; mov.f32 acc15, 0f00000000; " +
        "mov.f32 acc16, 0f00000000; mov.f32 acc17, 0f00000000; mov.f32 acc18, 0f00000000; mov.f32 acc19, 0f00000000; " +
        "mov.f32 acc20, 0f00000000; mov.f32 acc21, 0f00000000; mov.f32 acc22, 0f00000000; mov.f32 acc23, 0f00000000; " +
        "mov.f32 acc24, 0f00000000; mov.f32 acc25, 0f00000000; mov.f32 acc26, 0f00000000; mov.f32 acc27, 0f00000000; " +
        "mov.f32 acc28, 0f00000000; mov.f32 acc29, 0f00000000; mov.f32 acc30, 0f00000000; mov.f32 acc31, 0f00000000; " +
        "mov.f32 acc32, 0f00000000; mov.f32 acc33, 0f00000000; mov.f32 acc34, 0f00000000; mov.f32 acc35, 0f00000000; " +
        "mov.f32 acc36, 0f00000000; mov.f32 acc37, 0f00000000; mov.f32 acc38, 0f00000000; mov.f32 acc39, 0f00000000; " +
        "mov.f32 acc40, 0f00000000; mov.f32 acc41, 0f00000000; mov.f32 acc42, 0f00000000; mov.f32 acc43, 0f00000000; " +
        "mov.f32 acc44, 0f00000000; mov.f32 acc45, 0f00000000; mov.f32 acc46, 0f00000000; mov.f32 acc47, 0f00000000; " +
        "mov.f32 acc48, 0f00000000; mov.f32 acc49, 0f00000000; mov.f32 acc50, 0f00000000; mov.f32 acc51, 0f00000000; " +
        "mov.f32 acc52, 0f00000000; mov.f32 acc53, 0f00000000; mov.f32 acc54, 0f00000000; mov.f32 acc55, 0f00000000; " +
        "mov.f32 acc56, 0f00000000; mov.f32 acc57, 0f00000000; mov.f32 acc58, 0f00000000; mov.f32 acc59, 0f00000000; " +
        "mov.f32 acc60, 0f00000000; mov.f32 acc61, 0f00000000; mov.f32 acc62, 0f00000000; mov.f32 acc63, 0f00000000; ";

    private const string Base = ".reg .u32 b, p; mov.u32 b, __dyn_shared_alloca; ";

    /// <summary>
    /// One ldmatrix.x4 into four registers at byte offset %N: plain where predicate t is false, .trans where it is true. The
    /// layout is a predicate rather than a branch in C#, so a k16 step is straight-line code and ptxas may start the next
    /// step's loads under this step's mma.
    /// </summary>
    private const string Plain = "ldmatrix.sync.aligned.m8n8.x4.shared.b16 ", Transposed = "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 ";

    /// <summary>
    /// A k16 step: %0..%3 the four A fragments' offsets, %4 and %5 the two B pairs', %6 and %7 nonzero where A and B are
    /// read transposed; then the 16 mma.
    /// </summary>
    private const string LoadAndMultiply = "{ " + Base + ".reg .pred ta, tb; setp.ne.u32 ta, %6, 0; setp.ne.u32 tb, %7, 0; " +
        "add.u32 p, b, %0; @ta " + Transposed + "{fa0, fa1, fa2, fa3}, [p]; @!ta " + Plain + "{fa0, fa1, fa2, fa3}, [p]; " +
        "add.u32 p, b, %1; @ta " + Transposed + "{fa4, fa5, fa6, fa7}, [p]; @!ta " + Plain + "{fa4, fa5, fa6, fa7}, [p]; " +
        "add.u32 p, b, %2; @ta " + Transposed + "{fa8, fa9, fa10, fa11}, [p]; @!ta " + Plain + "{fa8, fa9, fa10, fa11}, [p]; " +
        "add.u32 p, b, %3; @ta " + Transposed + "{fa12, fa13, fa14, fa15}, [p]; @!ta " + Plain + "{fa12, fa13, fa14, fa15}, [p]; " +
        "add.u32 p, b, %4; @tb " + Transposed + "{fb0, fb1, fb2, fb3}, [p]; @!tb " + Plain + "{fb0, fb1, fb2, fb3}, [p]; " +
        "add.u32 p, b, %5; @tb " + Transposed + "{fb4, fb5, fb6, fb7}, [p]; @!tb " + Plain + "{fb4, fb5, fb6, fb7}, [p]; " +
        MultiplyAll + "}";

    private const string Mma = "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 ";

    /// <summary>The 16 mma of one k16 step: tile (i, j) = A fragment i × B fragment j.</summary>
    private const string MultiplyAll =
        Mma + "{acc0, acc1, acc2, acc3}, {fa0, fa1, fa2, fa3}, {fb0, fb1}, {acc0, acc1, acc2, acc3}; " +
        Mma + "{acc4, acc5, acc6, acc7}, {fa0, fa1, fa2, fa3}, {fb2, fb3}, {acc4, acc5, acc6, acc7}; " +
        Mma + "{acc8, acc9, acc10, acc11}, {fa0, fa1, fa2, fa3}, {fb4, fb5}, {acc8, acc9, acc10, acc11}; " +
        Mma + "{acc12, acc13, acc14, acc15}, {fa0, fa1, fa2, fa3}, {fb6, fb7}, {acc12, acc13, acc14, acc15}; " +
        Mma + "{acc16, acc17, acc18, acc19}, {fa4, fa5, fa6, fa7}, {fb0, fb1}, {acc16, acc17, acc18, acc19}; " +
        Mma + "{acc20, acc21, acc22, acc23}, {fa4, fa5, fa6, fa7}, {fb2, fb3}, {acc20, acc21, acc22, acc23}; " +
        Mma + "{acc24, acc25, acc26, acc27}, {fa4, fa5, fa6, fa7}, {fb4, fb5}, {acc24, acc25, acc26, acc27}; " +
        Mma + "{acc28, acc29, acc30, acc31}, {fa4, fa5, fa6, fa7}, {fb6, fb7}, {acc28, acc29, acc30, acc31}; " +
        Mma + "{acc32, acc33, acc34, acc35}, {fa8, fa9, fa10, fa11}, {fb0, fb1}, {acc32, acc33, acc34, acc35}; " +
        Mma + "{acc36, acc37, acc38, acc39}, {fa8, fa9, fa10, fa11}, {fb2, fb3}, {acc36, acc37, acc38, acc39}; " +
        Mma + "{acc40, acc41, acc42, acc43}, {fa8, fa9, fa10, fa11}, {fb4, fb5}, {acc40, acc41, acc42, acc43}; " +
        Mma + "{acc44, acc45, acc46, acc47}, {fa8, fa9, fa10, fa11}, {fb6, fb7}, {acc44, acc45, acc46, acc47}; " +
        Mma + "{acc48, acc49, acc50, acc51}, {fa12, fa13, fa14, fa15}, {fb0, fb1}, {acc48, acc49, acc50, acc51}; " +
        Mma + "{acc52, acc53, acc54, acc55}, {fa12, fa13, fa14, fa15}, {fb2, fb3}, {acc52, acc53, acc54, acc55}; " +
        Mma + "{acc56, acc57, acc58, acc59}, {fa12, fa13, fa14, fa15}, {fb4, fb5}, {acc56, acc57, acc58, acc59}; " +
        Mma + "{acc60, acc61, acc62, acc63}, {fa12, fa13, fa14, fa15}, {fb6, fb7}, {acc60, acc61, acc62, acc63}; ";

    /// <summary>Declares the accumulators and fragments and zeroes the accumulators: once, at the kernel's start.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Begin() => CudaAsm.Emit(Declarations + Zeros);

    /// <summary>One k16 step: four A fragments and two B fragment pairs by ldmatrix.x4 (byte offsets), then 16 mma.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step(int a0, int a1, int a2, int a3, bool aTransposed, int b0, int b1, bool bTransposed) =>
        CudaAsm.Emit(LoadAndMultiply, a0, a1, a2, a3, b0, b1, aTransposed ? 1u : 0u, bTransposed ? 1u : 0u);

    /// <summary>Writes half the accumulators (upper: tiles i = 0, 1; lower: 2, 3) to shared memory, see <see cref="StageUpperHalf"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Stage(bool lower, int threadOffset, int eightRows)
    {
        if (lower) CudaAsm.Emit(StageLowerHalf, threadOffset, eightRows);
        else CudaAsm.Emit(StageUpperHalf, threadOffset, eightRows);
    }

    /// <summary>cp.async of one 16-byte chunk, bypassing L1; a source size below 16 fills the rest with zeros.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyChunk(int sharedOffset, ulong globalAddress, uint sourceBytes) =>
        CudaAsm.Emit("{ .reg .u64 g; .reg .u32 s; cvta.to.global.u64 g, %1; mov.u32 s, __dyn_shared_alloca; add.u32 s, s, %0; " +
            "cp.async.cg.shared.global [s], [g], 16, %2; }", sharedOffset, globalAddress, sourceBytes);

    /// <summary>Closes this thread's group of copies issued since the last commit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Commit() => CudaAsm.Emit("cp.async.commit_group;");

    /// <summary>
    /// Waits until at most <see cref="TensorCoreGemm.Stages"/> − 2 = 1 of this thread's groups are in flight, i.e. the
    /// oldest slice has landed (a barrier then makes every thread's copies visible).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WaitForOldestSlice() => CudaAsm.Emit("cp.async.wait_group 1;");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WaitForAll() => CudaAsm.Emit("cp.async.wait_group 0;");
}
