using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// A parameter's gradient summed over every row on the device in two passes, without atomics (which a bfloat16 gradient
/// could not take): the op's own kernel has one thread per (chunk of rows, column) write its float32 partial sum to
/// <see cref="Partials"/>, then <see cref="AddInto"/> has one thread per column add the chunks' partials onto the gradient
/// in chunk order and store once. Deterministic, and rounded to the storage once.
/// </summary>
internal sealed class ColumnSums<TWord, TStored>(Accelerator accelerator) : IDisposable
    where TWord : unmanaged
    where TStored : struct, IStoredFloats<TWord>
{
    private readonly Action<Index1D, ArrayView<TWord>, Floats, int> _addPartials =
        accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, Floats, int>(ColumnSums.AddPartialsKernel<TWord, TStored>);

    /// <summary>The partial sums, [sets, chunks, dim], kept between calls.</summary>
    private readonly Scratch<float> _partials = new(accelerator);

    /// <summary>
    /// Rows per chunk for <paramref name="rows"/> (at least one) rows of <paramref name="dim"/> columns: as many chunks as
    /// fill the device with one thread per (chunk, column); more would only lengthen the second pass.
    /// </summary>
    public int RowsPerChunk(int rows, int dim)
    {
        var chunks = Math.Clamp(accelerator.MaxNumThreads / dim, 1, rows);
        return (rows + chunks - 1) / chunks;
    }

    /// <summary><paramref name="sets"/> sets of [chunks, dim] partials, one per gradient the op sums; a thread's index is its (chunk, column).</summary>
    public Floats Partials(int rows, int dim, int rowsPerChunk, int sets = 1) =>
        _partials.View((long)sets * ((rows + rowsPerChunk - 1) / rowsPerChunk) * dim);

    /// <summary>gradient[j] += Σ_chunk partials[chunk, j], in chunk order (partials one set of <see cref="Partials"/>).</summary>
    public void AddInto(ArrayView<TWord> gradient, Floats partials, int dim) => _addPartials(dim, gradient, partials, dim);

    public void Dispose() => _partials.Dispose();
}

/// <summary>The kernel of <see cref="ColumnSums{TWord, TStored}"/>'s second pass (a generic method of a plain class, as ILGPU loads them).</summary>
internal static class ColumnSums
{
    /// <summary>One thread per column: gradient[j] += Σ_chunk partials[chunk, j], in chunk order.</summary>
    public static void AddPartialsKernel<TWord, TStored>(Index1D column, ArrayView<TWord> gradient, Floats partials, int dim)
        where TWord : unmanaged
        where TStored : struct, IStoredFloats<TWord>
    {
        var stored = default(TStored);
        var sum = stored.Load(gradient, column.X);
        for (var at = (long)column.X; at < partials.Length; at += dim) sum += partials[at];
        stored.Store(gradient, column.X, sum);
    }
}
