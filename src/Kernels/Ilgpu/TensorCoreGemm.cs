using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using GemmLayout = SimNpo.Kernels.MatMul.Ilgpu.GemmLayout;
using GemmShape = SimNpo.Kernels.MatMul.Ilgpu.GemmShape;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// The bfloat16 GEMM on tensor cores: C[M, N] (+)= A[M, K] · B[K, N] with A and B bfloat16 words, float32 accumulation
/// (mma.sync m16n8k16), and C stored as bfloat16 (rounded to nearest even once, after the whole sum; accumulating means
/// C = round(float(C) + sum)) or as float32. Operand layouts are <see cref="MatMul.Ilgpu"/>'s <see cref="GemmLayout"/>
/// flags, so it serves the linear layer's forward and both backward products and the fused loss's chunks.
///
/// A group of WarpsM × WarpsN warps computes a (64·WarpsM) × (32·WarpsN) block of C, each warp 64 × 32 (4 × 4 mma tiles,
/// <see cref="WarpTilePtx"/>). K goes by slices of <see cref="SliceDepth"/> staged in shared memory (<see cref="SharedTile"/>)
/// through a ring of <see cref="Stages"/> buffers filled by cp.async, so two slices are in flight while one is multiplied.
/// The finished block leaves through shared memory in two halves, so C is written row by row by consecutive threads.
/// </summary>
public static class TensorCoreGemm
{
    /// <summary>K per staged slice: two k16 mma steps, written out in the kernel. Three stages of a 128 × 128 block fill 48 KiB,
    /// the most a launch may ask for without opting in.</summary>
    public const int SliceDepth = 32, Stages = 3, WarpTileM = 64, WarpTileN = 32, MmaWarpSize = 32;

    /// <summary>Staged rows of C get 8 floats of padding, so the v2 stores of rows g = 0..3 of a half-warp meet no bank twice.</summary>
    private const int StagingPadding = 8;

    /// <summary>A block's shape in warps.</summary>
    public readonly record struct BlockTile(int WarpsM, int WarpsN)
    {
        public int M => WarpsM * WarpTileM;
        public int N => WarpsN * WarpTileN;
        public int Threads => WarpsM * WarpsN * MmaWarpSize;

        /// <summary>The K ring of A and B slices, or the staged half of C after it: whichever is larger.</summary>
        public int SharedBytes => Math.Max(Stages * SliceDepth * 2 * (M + N), M / 2 * (N + StagingPadding) * sizeof(float));
    }

    /// <summary>
    /// 128 × 128 where the output has enough blocks to fill the multiprocessors, else narrower: the k/v projections of a
    /// 1B model (N = 512) make 64 blocks of 128 × 128 for 132 SMs, 256 of 64 × 64.
    /// </summary>
    public static readonly BlockTile[] BlockTiles = [new(2, 4), new(2, 2), new(1, 2)];

    /// <summary>Everything a block needs besides the views; public only because ILGPU's CPU accelerator needs to see kernel parameter types.</summary>
    public readonly record struct Arguments(GemmShape Shape, int WarpsM, int WarpsN, int FloatOutput, ulong AAddress, ulong BAddress);

    /// <summary>The kernel of one accelerator, compiled once: create one per accelerator and keep it.</summary>
    public sealed class Launcher : IBFloat16Gemm
    {
        private readonly Accelerator _accelerator;
        private readonly Action<KernelConfig, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, Arguments> _gemm;

        public Launcher(Accelerator accelerator)
        {
            if (accelerator.WarpSize != MmaWarpSize)
                throw new NotSupportedException(
                    $"the tensor-core GEMM needs warps of {MmaWarpSize} threads (the mma fragment layout); "
                    + $"{accelerator.Name} has warps of {accelerator.WarpSize}");
            _accelerator = accelerator;
            _gemm = accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, Arguments>(GemmKernel);
        }

        /// <summary>output[rows, outDim] = input[rows, inDim] · weightᵀ, weight [outDim, inDim], all bfloat16.</summary>
        public void Forward(ArrayView<ushort> output, ArrayView<ushort> input, ArrayView<ushort> weight, int rows, int inDim, int outDim)
        {
            MatMul.CheckShapes((int)output.Length, (int)input.Length, (int)weight.Length, rows, inDim, outDim);
            Multiply(output, ArrayView<float>.Empty, input, weight, ForwardShape(rows, inDim, outDim));
        }

        /// <summary>The same product kept in float32 (the fused loss's logits).</summary>
        public void Forward(ArrayView<float> output, ArrayView<ushort> input, ArrayView<ushort> weight, int rows, int inDim, int outDim)
        {
            MatMul.CheckShapes((int)output.Length, (int)input.Length, (int)weight.Length, rows, inDim, outDim);
            Multiply(ArrayView<ushort>.Empty, output, input, weight, ForwardShape(rows, inDim, outDim));
        }

        /// <summary>inputGrad += outputGrad · weight; weightGrad += outputGradᵀ · input, all bfloat16, each sum in float32.</summary>
        public void Backward(ArrayView<ushort> inputGrad, ArrayView<ushort> weightGrad, ArrayView<ushort> outputGrad, ArrayView<ushort> input,
            ArrayView<ushort> weight, int rows, int inDim, int outDim)
        {
            MatMul.CheckBackwardShapes((int)inputGrad.Length, (int)weightGrad.Length, (int)outputGrad.Length, (int)input.Length, (int)weight.Length,
                rows, inDim, outDim);
            // A = outputGrad [M = rows, K = outDim] along K; B = weight [K = outDim, N = inDim] along N.
            Multiply(inputGrad, ArrayView<float>.Empty, outputGrad, weight, new GemmShape(rows, inDim, outDim, GemmLayout.Accumulate | GemmLayout.ASpansK));
            // A[m, k] = outputGrad[k, m], [K = rows, M = outDim] along M; B = input [K = rows, N = inDim] along N.
            Multiply(weightGrad, ArrayView<float>.Empty, outputGrad, input, new GemmShape(outDim, inDim, rows, GemmLayout.Accumulate));
        }

        /// <summary>
        /// C (+)= A·B as <paramref name="shape"/> lays them out (its AWide and BWide flags are worked out here), into the
        /// words or, when <paramref name="cWords"/> is empty, the floats; <paramref name="tile"/> overrides the block choice.
        /// </summary>
        public void Multiply(ArrayView<ushort> cWords, ArrayView<float> cFloats, ArrayView<ushort> a, ArrayView<ushort> b, GemmShape shape,
            BlockTile? tile = null)
        {
            var (m, n, k) = (shape.M, shape.N, shape.K);
            var floatOutput = cWords.Length == 0;
            ShapeCheck.Length((int)a.Length, m * k, "A");
            ShapeCheck.Length((int)b.Length, k * n, "B");
            ShapeCheck.Length((int)(floatOutput ? cFloats.Length : cWords.Length), m * n, "C");
            if (m == 0 || n == 0) return;
            var block = tile ?? Choose(m, n);
            var (aAddress, bAddress) = (Address(a), Address(b));
            var layout = shape.Layout & (GemmLayout.ASpansK | GemmLayout.BSpansK | GemmLayout.Accumulate)
                | Wide(aAddress, shape.Has(GemmLayout.ASpansK) ? k : m, GemmLayout.AWide)
                | Wide(bAddress, shape.Has(GemmLayout.BSpansK) ? k : n, GemmLayout.BWide);
            var grid = new Index2D((n + block.N - 1) / block.N, (m + block.M - 1) / block.M);
            var config = new KernelConfig(grid, new Index2D(block.Threads, 1), SharedMemoryConfig.RequestDynamic<Chunk>(block.SharedBytes / 16));
            _gemm(config, floatOutput ? ArrayView<ushort>.Empty : cWords, a, b, floatOutput ? cFloats : ArrayView<float>.Empty,
                new Arguments(shape with { Layout = layout }, block.WarpsM, block.WarpsN, floatOutput ? 1 : 0, aAddress, bAddress));
        }

        private BlockTile Choose(int m, int n)
        {
            var fitting = BlockTiles.Where(t => t.SharedBytes <= _accelerator.MaxSharedMemoryPerGroup
                && t.Threads <= _accelerator.MaxNumThreadsPerGroup).ToArray();
            if (fitting.Length == 0) throw new NotSupportedException($"{_accelerator.Name} has too little shared memory for a tensor-core block");
            foreach (var tile in fitting)
                if ((long)((m + tile.M - 1) / tile.M) * ((n + tile.N - 1) / tile.N) >= _accelerator.NumMultiprocessors) return tile;
            return fitting[^1];
        }

        private static GemmShape ForwardShape(int rows, int inDim, int outDim) =>
            // A = input [M = rows, K = inDim]; B[k, n] = weight[n, k]: both run along K.
            new(rows, outDim, inDim, GemmLayout.ASpansK | GemmLayout.BSpansK);

        /// <summary>The view's first element's device address (what cp.async reads from); host memory on the CPU simulator.</summary>
        private static ulong Address(ArrayView<ushort> view) =>
            view.Length == 0 ? 0 : (ulong)((IArrayView)view).Buffer.NativePtr + (ulong)((IContiguousArrayView)view).IndexInBytes;

        /// <summary>cp.async copies 16 bytes from 16-byte aligned addresses: every row must start on a whole chunk.</summary>
        private static GemmLayout Wide(ulong address, int contiguousExtent, GemmLayout flag) =>
            contiguousExtent % 8 == 0 && address % 16 == 0 ? flag : GemmLayout.None;
    }

    /// <summary>16 bytes: the shared memory's element, so its declaration is aligned for cp.async and ldmatrix.</summary>
    public struct Chunk
    {
        public ulong Low, High;
    }

    /// <summary>
    /// One group per block of C at (Grid.IdxY, Grid.IdxX). The K loop keeps Stages − 1 slices in flight: at slice kt it waits
    /// for kt's copies, synchronises (kt's data is visible to all, and every warp is done with slice kt − 1, whose buffer the
    /// copy issued next overwrites), issues slice kt + Stages − 1, and multiplies slice kt in two k16 steps.
    /// </summary>
    internal static void GemmKernel(ArrayView<ushort> cWords, ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<float> cFloats, Arguments arguments)
    {
        var shape = arguments.Shape;
        var block = new BlockTile(arguments.WarpsM, arguments.WarpsN);
        var shared = SharedMemory.GetDynamic<Chunk>();
        var sharedWords = shared.Cast<ushort>();
        var sharedFloats = shared.Cast<float>();
        int thread = Group.IdxX, threads = block.Threads, lane = thread % MmaWarpSize, warp = thread / MmaWarpSize;
        int warpM = warp / block.WarpsN, warpN = warp % block.WarpsN;
        int m0 = Grid.IdxY * block.M, n0 = Grid.IdxX * block.N;
        var aTile = new SharedTile(shape.M, shape.K, m0, block.M, shape.Has(GemmLayout.ASpansK), shape.Has(GemmLayout.AWide), arguments.AAddress);
        var bTile = new SharedTile(shape.N, shape.K, n0, block.N, shape.Has(GemmLayout.BSpansK), shape.Has(GemmLayout.BWide), arguments.BAddress);
        var stageBytes = aTile.Bytes + bTile.Bytes;
        var fragments = new FragmentOffsets(
            aTile.FragmentOffset(warpM * WarpTileM, lane, isA: true), aTile.FragmentOffset(warpM * WarpTileM + 16, lane, isA: true),
            aTile.FragmentOffset(warpM * WarpTileM + 32, lane, isA: true), aTile.FragmentOffset(warpM * WarpTileM + 48, lane, isA: true),
            bTile.FragmentOffset(warpN * WarpTileN, lane, isA: false), bTile.FragmentOffset(warpN * WarpTileN + 16, lane, isA: false));

        var emulation = default(WarpTileEmulation);
        if (CudaAsm.IsSupported) WarpTilePtx.Begin();
        var slices = (shape.K + SliceDepth - 1) / SliceDepth;
        for (var s = 0; s < Stages - 1; s++)
        {
            if (s < slices) FillSlice(a, b, sharedWords, aTile, bTile, s * stageBytes, s, thread, threads);
            if (CudaAsm.IsSupported) WarpTilePtx.Commit();
        }
        for (var kt = 0; kt < slices; kt++)
        {
            if (CudaAsm.IsSupported) WarpTilePtx.WaitForOldestSlice();
            Group.Barrier();
            var next = kt + Stages - 1;
            if (next < slices) FillSlice(a, b, sharedWords, aTile, bTile, next % Stages * stageBytes, next, thread, threads);
            if (CudaAsm.IsSupported) WarpTilePtx.Commit();
            var aBase = kt % Stages * stageBytes;
            var bBase = aBase + aTile.Bytes;
            // The slice's two k16 steps written out, not looped: ILGPU does not unroll, and straight-line code lets ptxas
            // issue the second step's ldmatrix while the first step's mma run.
            MultiplyStep(ref emulation, sharedWords, fragments.At(aTile, bTile, aBase, bBase, 0), aTile.Transposed, bTile.Transposed);
            MultiplyStep(ref emulation, sharedWords, fragments.At(aTile, bTile, aBase, bBase, 1), aTile.Transposed, bTile.Transposed);
        }
        if (CudaAsm.IsSupported) WarpTilePtx.WaitForAll();

        // The epilogue: half the block's rows at a time through shared memory, staged row r of warp row wm at wm·32 + r.
        var stride = block.N + StagingPadding;
        int g = lane / 4, t = lane % 4;
        var threadOffset = ((warpM * 32 + g) * stride + warpN * WarpTileN + 2 * t) * sizeof(float);
        var eightRows = 8 * stride * sizeof(float);
        for (var half = 0; half < 2; half++)
        {
            Group.Barrier();
            if (CudaAsm.IsSupported) WarpTilePtx.Stage(half == 1, threadOffset, eightRows);
            else emulation.Stage(sharedFloats, half == 1, threadOffset, eightRows);
            Group.Barrier();
            for (var e = thread; e < block.M / 2 * block.N; e += threads)
            {
                int row = e / block.N, column = e % block.N;
                int m = m0 + row / 32 * WarpTileM + half * 32 + row % 32, n = n0 + column;
                if (m < shape.M && n < shape.N) Store(cWords, cFloats, arguments, (long)m * shape.N + n, sharedFloats[row * stride + column]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyStep(ref WarpTileEmulation emulation, ArrayView<ushort> shared, FragmentOffsets at, bool aTransposed, bool bTransposed)
    {
        if (CudaAsm.IsSupported) WarpTilePtx.Step(at.A0, at.A1, at.A2, at.A3, aTransposed, at.B0, at.B1, bTransposed);
        else emulation.Step(shared, at.A0, at.A1, at.A2, at.A3, aTransposed, at.B0, at.B1, bTransposed);
    }

    /// <summary>
    /// This lane's ldmatrix row addresses (bytes) for the warp's four A fragments and two B fragment pairs, relative to the
    /// slice's tiles at its first k16 step; <see cref="At"/> places them in a stage at a step.
    /// </summary>
    private readonly record struct FragmentOffsets(int A0, int A1, int A2, int A3, int B0, int B1)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public FragmentOffsets At(SharedTile a, SharedTile b, int aBase, int bBase, int step) => new(
            aBase + a.AtStep(A0, step), aBase + a.AtStep(A1, step), aBase + a.AtStep(A2, step), aBase + a.AtStep(A3, step),
            bBase + b.AtStep(B0, step), bBase + b.AtStep(B1, step));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FillSlice(ArrayView<ushort> a, ArrayView<ushort> b, ArrayView<ushort> shared, SharedTile aTile, SharedTile bTile, int stageBase,
        int slice, int thread, int threads)
    {
        aTile.Fill(a, shared, stageBase, slice * SliceDepth, thread, threads);
        bTile.Fill(b, shared, stageBase + aTile.Bytes, slice * SliceDepth, thread, threads);
    }

    /// <summary>Writes (or adds to) one element of C; a bfloat16 C is widened, added to in float32 and rounded once.</summary>
    private static void Store(ArrayView<ushort> cWords, ArrayView<float> cFloats, Arguments arguments, long index, float sum)
    {
        var accumulate = arguments.Shape.Has(GemmLayout.Accumulate);
        if (arguments.FloatOutput != 0) cFloats[index] = accumulate ? cFloats[index] + sum : sum;
        else cWords[index] = BFloat16.FromFloat(accumulate ? BFloat16.ToFloat(cWords[index]) + sum : sum);
    }
}
