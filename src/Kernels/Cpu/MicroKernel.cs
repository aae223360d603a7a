using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// The innermost loop of the GEMM: a <see cref="Rows"/> × <see cref="Columns"/> tile of C from an A operand read in
/// place through its strides (element (i, k) at a[i·rowStride + k·columnStride]: a packed micro-panel, or a row-major
/// matrix and its transpose, as the attention tiles use it) and a packed B micro-panel (kc × Columns, 32-byte aligned).
/// With AVX2 and FMA the tile lives in 12 ymm registers (6 rows of two 8-float vectors), leaving 4 of 16 for the two B
/// vectors and the A broadcast: 12 FMAs per 2 loads + 6 broadcasts. Each element sums its kc products in k order in a
/// register and is then added to C once.
/// </summary>
internal static unsafe class MicroKernel
{
    public const int Rows = 6;
    public const int Columns = 16;

    public static bool Vectorised => Avx2.IsSupported && Fma.IsSupported;

    public static string InstructionSet => Vectorised ? "AVX2+FMA" : "portable";

    /// <summary>
    /// c (+)= the tile's products; only the first rows × columns elements exist in C. A's rows past the last valid one
    /// re-read that row (never past the operand's end) and B's panel is zero-padded; those results are dropped.
    /// </summary>
    public static void Run(int kc, float* a, int aRowStride, int aColumnStride, float* b, float* c, int ldc, int rows, int columns, bool overwrite)
    {
        var panel = new APanel(a, aRowStride, aColumnStride, rows);
        if (rows == Rows && columns == Columns)
        {
            Compute(kc, panel, b, c, ldc, overwrite);
            return;
        }
        var tile = stackalloc float[Rows * Columns];
        Compute(kc, panel, b, tile, Columns, overwrite: true);
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < columns; j++)
                c[i * ldc + j] = overwrite ? tile[i * Columns + j] : c[i * ldc + j] + tile[i * Columns + j];
    }

    /// <summary>The six row starts of A (rows past the valid ones clamped to the last) and the step from one k to the next.</summary>
    private readonly struct APanel(float* a, int rowStride, int columnStride, int rows)
    {
        public readonly float* Row0 = a;
        public readonly float* Row1 = a + (long)Math.Min(1, rows - 1) * rowStride;
        public readonly float* Row2 = a + (long)Math.Min(2, rows - 1) * rowStride;
        public readonly float* Row3 = a + (long)Math.Min(3, rows - 1) * rowStride;
        public readonly float* Row4 = a + (long)Math.Min(4, rows - 1) * rowStride;
        public readonly float* Row5 = a + (long)Math.Min(5, rows - 1) * rowStride;
        public readonly nint Step = columnStride;
    }

    private static void Compute(int kc, in APanel a, float* b, float* c, int ldc, bool overwrite)
    {
        if (Vectorised) ComputeAvx2(kc, a, b, c, ldc, overwrite);
        else ComputePortable(kc, a, b, c, ldc, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first call: no tier-0 code or on-stack replacement
    private static void ComputeAvx2(int kc, in APanel a, float* b, float* c, int ldc, bool overwrite)
    {
        float* a0 = a.Row0, a1 = a.Row1, a2 = a.Row2, a3 = a.Row3, a4 = a.Row4, a5 = a.Row5;
        var step = a.Step;
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint k0 = 0;
        for (var k = 0; k < kc; k++, k0 += step, b += Columns)
        {
            var b0 = Avx.LoadAlignedVector256(b);
            var b1 = Avx.LoadAlignedVector256(b + 8);
            var ai = Vector256.Create(a0[k0]);
            c00 = Fma.MultiplyAdd(ai, b0, c00); c01 = Fma.MultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a1[k0]);
            c10 = Fma.MultiplyAdd(ai, b0, c10); c11 = Fma.MultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a2[k0]);
            c20 = Fma.MultiplyAdd(ai, b0, c20); c21 = Fma.MultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a3[k0]);
            c30 = Fma.MultiplyAdd(ai, b0, c30); c31 = Fma.MultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(a4[k0]);
            c40 = Fma.MultiplyAdd(ai, b0, c40); c41 = Fma.MultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(a5[k0]);
            c50 = Fma.MultiplyAdd(ai, b0, c50); c51 = Fma.MultiplyAdd(ai, b1, c51);
        }
        StoreRow(c, c00, c01, overwrite);
        StoreRow(c + ldc, c10, c11, overwrite);
        StoreRow(c + 2 * ldc, c20, c21, overwrite);
        StoreRow(c + 3 * ldc, c30, c31, overwrite);
        StoreRow(c + 4 * ldc, c40, c41, overwrite);
        StoreRow(c + 5 * ldc, c50, c51, overwrite);
    }

    private static void StoreRow(float* c, Vector256<float> low, Vector256<float> high, bool overwrite)
    {
        if (!overwrite)
        {
            low += Vector256.Load(c);
            high += Vector256.Load(c + 8);
        }
        low.Store(c);
        high.Store(c + 8);
    }

    /// <summary>The same tile in scalar code, for processors without AVX2 and FMA (the JIT vectorises none of it, but it is correct).</summary>
    private static void ComputePortable(int kc, in APanel a, float* b, float* c, int ldc, bool overwrite)
    {
        var rows = stackalloc float*[Rows] { a.Row0, a.Row1, a.Row2, a.Row3, a.Row4, a.Row5 };
        var tile = stackalloc float[Rows * Columns];
        new Span<float>(tile, Rows * Columns).Clear();
        for (var k = 0; k < kc; k++, b += Columns)
            for (var i = 0; i < Rows; i++)
                for (var j = 0; j < Columns; j++)
                    tile[i * Columns + j] += rows[i][k * a.Step] * b[j];
        for (var i = 0; i < Rows; i++)
            for (var j = 0; j < Columns; j++)
                c[i * ldc + j] = overwrite ? tile[i * Columns + j] : c[i * ldc + j] + tile[i * Columns + j];
    }
}
