using System.Runtime.CompilerServices;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// C[M, N] (+)= A[M, K] · B[K, N] in float32, blocked for the caches as in Goto's GEMM: C is cut into
/// <see cref="BlockM"/> × <see cref="BlockN"/> blocks, one per parallel task, so every element of C is computed by one
/// thread summing K in a fixed order (results do not depend on the thread count or schedule). A task walks K in slices of
/// <see cref="SliceK"/>, packs its slice of A (L2-sized) and of B into its thread's buffers as micro-panels, and runs the
/// <see cref="MicroKernel"/> over every MR × NR tile, the B micro-panel staying in L1 across the tiles of a column.
/// Each operand may be float32 or bfloat16: packing widens bfloat16 panels to float32, and a bfloat16 C is summed over
/// all of K in a float32 block of the thread's own and rounded once, C = bf16(C + Σ), where a float32 C takes each
/// slice's sum in place.
/// </summary>
internal static unsafe class Gemm
{
    private const int BlockM = 32 * MicroKernel.Rows;
    private const int BlockN = 16 * MicroKernel.Columns;
    private const int SliceK = 256;

    /// <summary>
    /// A matrix read as element (i, j) = Data[i·RowStride + j·ColumnStride] in the given storage (float32 or bfloat16
    /// words): a transpose swaps the strides.
    /// </summary>
    internal readonly struct Operand(void* data, Storage storage, int rowStride, int columnStride)
    {
        public void* Data => data;
        public Storage Storage => storage;
        public int RowStride => rowStride;
        public int ColumnStride => columnStride;

        public static Operand Of<TWord, TFormat>(TWord* data, int rowStride, int columnStride)
            where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord> => new(data, TFormat.Storage, rowStride, columnStride);
    }

    /// <summary>C(i, j) = (accumulate ? C(i, j) : 0) + Σ_k A(i, k)·B(k, j), with C's column stride 1.</summary>
    public static void Multiply(Operand c, Operand a, Operand b, int m, int n, int k, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate)
                for (var i = 0; i < m; i++) ClearRow(c, i, n);
            return;
        }
        int blocksN = (n + BlockN - 1) / BlockN, blocks = (m + BlockM - 1) / BlockM * blocksN;
        Parallel.For(0, blocks, CpuThreads.Options, block =>
        {
            int m0 = block / blocksN * BlockM, n0 = block % blocksN * BlockN;
            ComputeBlock(c, a, b, m0, Math.Min(BlockM, m - m0), n0, Math.Min(BlockN, n - n0), k, accumulate);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ComputeBlock(Operand c, Operand a, Operand b, int m0, int mc, int n0, int nc, int k, bool accumulate)
    {
        var buffers = PackBuffers.ForThisThread;
        var inPlace = c.Storage == Storage.Native;
        var sums = inPlace ? (float*)c.Data + (long)m0 * c.RowStride + n0 : buffers.C;
        var ldSums = inPlace ? c.RowStride : BlockN;
        for (var k0 = 0; k0 < k; k0 += SliceK)
        {
            var kc = Math.Min(SliceK, k - k0);
            Pack(buffers.A, a, m0, mc, k0, kc, MicroKernel.Rows, transposed: false);
            Pack(buffers.B, b, n0, nc, k0, kc, MicroKernel.Columns, transposed: true);
            var overwrite = (!accumulate || !inPlace) && k0 == 0;
            for (var j = 0; j < nc; j += MicroKernel.Columns)
                for (var i = 0; i < mc; i += MicroKernel.Rows)
                    MicroKernel.Run(kc, buffers.A + i * kc, 1, MicroKernel.Rows, buffers.B + j * kc, sums + (long)i * ldSums + j, ldSums,
                        Math.Min(MicroKernel.Rows, mc - i), Math.Min(MicroKernel.Columns, nc - j), overwrite);
        }
        if (!inPlace)
            for (var i = 0; i < mc; i++)
            {
                var words = new Span<ushort>((ushort*)c.Data + (long)(m0 + i) * c.RowStride + n0, nc);
                var rowSums = new ReadOnlySpan<float>(sums + i * ldSums, nc);
                if (accumulate) Vectors.AddInto<ushort, BFloat16Format>(words, rowSums);
                else BFloat16.Narrow(rowSums, words);
            }
    }

    /// <summary>Zero words are +0 in both storages.</summary>
    private static void ClearRow(Operand c, int i, int n)
    {
        var elementBytes = c.Storage == Storage.Native ? sizeof(float) : sizeof(ushort);
        new Span<byte>((byte*)c.Data + (long)i * c.RowStride * elementBytes, n * elementBytes).Clear();
    }

    /// <summary>
    /// Packs extent × kc elements starting at (x0, k0) as panels of width elements along x, each stored k-major
    /// (panel[kk·width + xx]), padded with zeros past the extent so the micro-kernel never branches. x is the row of A,
    /// or (transposed) the column of B. Where x is contiguous in the source each k is one block copy (a widening one for
    /// bfloat16); otherwise the loop runs along k.
    /// </summary>
    internal static void Pack(float* destination, Operand source, int x0, int extent, int k0, int kc, int width, bool transposed)
    {
        if (source.Storage == Storage.Native) Pack<float, Float32Format>(destination, source, x0, extent, k0, kc, width, transposed);
        else Pack<ushort, BFloat16Format>(destination, source, x0, extent, k0, kc, width, transposed);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pack<TWord, TFormat>(float* destination, Operand source, int x0, int extent, int k0, int kc, int width, bool transposed)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        // Pointer steps rather than an index product per element: packing runs once per block and slice, and a
        // multiply-heavy gather here cost as much as the micro-kernel's arithmetic.
        var (strideX, strideK) = transposed ? (source.ColumnStride, source.RowStride) : (source.RowStride, source.ColumnStride);
        for (var p = 0; p < extent; p += width)
        {
            var panel = destination + p * kc;
            var valid = Math.Min(width, extent - p);
            if (valid < width) new Span<float>(panel, kc * width).Clear();
            var origin = (TWord*)source.Data + (long)(x0 + p) * strideX + (long)k0 * strideK;
            if (strideX == 1)
                for (var kk = 0; kk < kc; kk++)
                    TFormat.Widen(new ReadOnlySpan<TWord>(origin + (long)kk * strideK, valid), new Span<float>(panel + kk * width, valid));
            else
                for (var xx = 0; xx < valid; xx++)
                {
                    var from = origin + (long)xx * strideX;
                    var to = panel + xx;
                    for (var kk = 0; kk < kc; kk++, from += strideK, to += width) *to = TFormat.Widen(*from);
                }
        }
    }

    /// <summary>
    /// One thread's packing buffers, allocated on its first GEMM and reused by every later one: pinned arrays, so their
    /// addresses stay fixed, with the packed data starting on a 64-byte boundary (whole cache lines, aligned vector loads);
    /// and the float32 sums of a bfloat16 C block, allocated on the first such product.
    /// </summary>
    private sealed class PackBuffers
    {
        [ThreadStatic] private static PackBuffers? _current;

        private const int AlignmentFloats = 16;
        private readonly float[] _aStorage = GC.AllocateArray<float>(BlockM * SliceK + AlignmentFloats, pinned: true);
        private readonly float[] _bStorage = GC.AllocateArray<float>(BlockN * SliceK + AlignmentFloats, pinned: true);

        private PackBuffers()
        {
            A = Aligned(_aStorage);
            B = Aligned(_bStorage);
        }

        public static PackBuffers ForThisThread => _current ??= new PackBuffers();

        public float* A { get; }
        public float* B { get; }

        private float[]? _cStorage;

        public float* C
        {
            get
            {
                _cStorage ??= GC.AllocateArray<float>(BlockM * BlockN + AlignmentFloats, pinned: true);
                return Aligned(_cStorage);
            }
        }

        private static float* Aligned(float[] storage)
        {
            var address = (nint)Unsafe.AsPointer(ref storage[0]);
            return (float*)((address + 63) & ~(nint)63);
        }
    }
}
