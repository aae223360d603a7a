using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// The three products of the chunked output loss, c[m, n] (+)= Σ_k A(i, k)·B(k, j) over row-major operands, by one plain
/// shared-memory tiled kernel: square tiles of A and B staged in shared memory, one output element per thread, sums in
/// float32. Deliberately simple (no register blocking, no wide loads); the tuned SGEMM is the MatMul op's.
/// </summary>
internal sealed class LossTiledMatMul(Accelerator accelerator)
{
    /// <summary>The largest tile side; shared memory holds two tiles of this size.</summary>
    private const int MaxSide = 16;

    private readonly Action<KernelConfig, Floats, Floats, Floats, int, int, int, int, int, int> _kernel =
        accelerator.LoadStreamKernel<Floats, Floats, Floats, int, int, int, int, int, int>(Kernel);

    /// <summary>c[m, n] = a[m, k] · b[n, k]ᵀ (the logits of a chunk: hidden states times the chunk's rows of the weight).</summary>
    public void MultiplyTransposed(Floats c, Floats a, Floats b, int m, int n, int k) => Launch(c, a, b, m, n, k, aTransposed: false, bTransposed: true, accumulate: false);

    /// <summary>c[m, n] += a[m, k] · b[k, n] (the hidden states' gradient: the chunk's logit gradient times its weight rows).</summary>
    public void AddProduct(Floats c, Floats a, Floats b, int m, int n, int k) => Launch(c, a, b, m, n, k, aTransposed: false, bTransposed: false, accumulate: true);

    /// <summary>c[m, n] += a[k, m]ᵀ · b[k, n] (the chunk's weight gradient: the logit gradient transposed times the hidden states).</summary>
    public void AddTransposedProduct(Floats c, Floats a, Floats b, int m, int n, int k) =>
        Launch(c, a, b, m, n, k, aTransposed: true, bTransposed: false, accumulate: true);

    /// <summary>Flags travel as ints: kernel parameters are plain values or views (a struct would have to be public for ILGPU).</summary>
    private void Launch(Floats c, Floats a, Floats b, int m, int n, int k, bool aTransposed, bool bTransposed, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        var side = TileSide(m, n);
        var grid = new Index2D((n + side - 1) / side, (m + side - 1) / side);
        _kernel(new KernelConfig(grid, new Index2D(side, side)), c, a, b, m, n, k, aTransposed ? 1 : 0, bTransposed ? 1 : 0, accumulate ? 1 : 0);
    }

    /// <summary>A power of two, side² within the group limit, and no larger than the output needs (tiny shapes stay cheap on the CPU simulator).</summary>
    private int TileSide(int m, int n)
    {
        var side = 1;
        while (side < MaxSide && 4 * side * side <= accelerator.MaxNumThreadsPerGroup && side < Math.Max(m, n)) side *= 2;
        return side;
    }

    /// <summary>
    /// A(i, k) is a[i, k] of a dense [m, k], or a[k, i] of a dense [k, m] when aTransposed; B(k, j) is b[k, j] of a dense [k, n],
    /// or b[j, k] of a dense [n, k] when bTransposed; c is dense [m, n]. Thread (x, y) of the group computes c[tile row + y,
    /// tile column + x]. Each tile is loaded with consecutive threads on the operand's contiguous index, so global reads
    /// coalesce in all three products.
    /// </summary>
    private static void Kernel(Floats c, Floats a, Floats b, int m, int n, int k, int aTransposed, int bTransposed, int accumulate)
    {
        var side = Group.DimX;
        var (x, y) = (Group.IdxX, Group.IdxY);
        var (rowBase, columnBase) = (Grid.IdxY * side, Grid.IdxX * side);
        var aTile = SharedMemory.Allocate<float>(MaxSide * MaxSide);
        var bTile = SharedMemory.Allocate<float>(MaxSide * MaxSide);
        var (aI, aK) = aTransposed == 0 ? (y, x) : (x, y);
        var (bK, bJ) = bTransposed == 0 ? (y, x) : (x, y);
        var sum = 0f;
        for (var k0 = 0; k0 < k; k0 += side)
        {
            var (i, ka) = (rowBase + aI, k0 + aK);
            aTile[aI * side + aK] = i < m && ka < k ? a[aTransposed == 0 ? (long)i * k + ka : (long)ka * m + i] : 0;
            var (kb, j) = (k0 + bK, columnBase + bJ);
            bTile[bK * side + bJ] = kb < k && j < n ? b[bTransposed == 0 ? (long)kb * n + j : (long)j * k + kb] : 0;
            Group.Barrier();
            for (var kk = 0; kk < side; kk++) sum += aTile[y * side + kk] * bTile[kk * side + x];
            // The tiles are overwritten next round only once every thread has used them.
            Group.Barrier();
        }
        var (row, column) = (rowBase + y, columnBase + x);
        if (row < m && column < n)
        {
            var index = (long)row * n + column;
            c[index] = accumulate != 0 ? c[index] + sum : sum;
        }
    }
}
