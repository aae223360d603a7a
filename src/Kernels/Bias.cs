using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Floats = ILGPU.ArrayView<float>;

namespace SimNpo.Kernels;

/// <summary>
/// A linear layer's bias, added to every row of its MatMul's output in place: x[r, :] += bias. Its backward is the
/// column sum of the output's gradient, biasGrad[j] += Σ_r outputGrad[r, j], taken over the rows in a fixed order so the
/// result never depends on a schedule.
/// </summary>
public static class Bias
{
    /// <summary>The CPU reference: the specification every fast kernel of this op is held to.</summary>
    public static class Reference
    {
        /// <summary>x[r, j] = x[r, j] + bias[j], one rounding to T.</summary>
        public static void Forward<T>(Span<T> x, ReadOnlySpan<T> bias, int dim) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckShapes(x.Length, bias.Length, dim, nameof(x), nameof(bias));
            for (var r = 0; r < rows; r++)
            {
                var row = x.Slice(r * dim, dim);
                for (var j = 0; j < dim; j++) row[j] += bias[j];
            }
        }

        /// <summary>biasGrad[j] += Σ_r outputGrad[r, j], the rows summed in order in float64 and added once.</summary>
        public static void Backward<T>(Span<T> biasGrad, ReadOnlySpan<T> outputGrad, int dim) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckShapes(outputGrad.Length, biasGrad.Length, dim, nameof(outputGrad), nameof(biasGrad));
            var sums = new double[dim];
            for (var r = 0; r < rows; r++)
                for (var j = 0; j < dim; j++)
                    sums[j] += double.CreateTruncating(outputGrad[r * dim + j]);
            for (var j = 0; j < dim; j++) biasGrad[j] += T.CreateTruncating(sums[j]);
        }
    }

    /// <summary>
    /// The device kernels: the forward one thread per element (the add in float32, stored once); the backward's column sums
    /// in two passes (<see cref="ColumnSums{TWord, TStored}"/>), deterministic. The rows may also be float32 while the bias
    /// is stored as <typeparamref name="TWord"/>s: the chunked output loss's float32 logits and their gradient
    /// (<see cref="ForwardOnFloats"/>, <see cref="BackwardFromFloats"/>, compiled on first use).
    /// </summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator) : IDisposable
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<Index1D, ArrayView<TWord>, ArrayView<TWord>, int> _forward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, ArrayView<TWord>, int>(ForwardKernel<TWord, TStored, TWord, TStored>);

            private readonly Lazy<Action<Index1D, Floats, ArrayView<TWord>, int>> _forwardOnFloats = new(() =>
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, ArrayView<TWord>, int>(ForwardKernel<float, Float32Words, TWord, TStored>));

            private readonly Action<Index1D, Floats, ArrayView<TWord>, int, int> _columnPartials =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, ArrayView<TWord>, int, int>(ColumnPartialsKernel<TWord, TStored>);

            private readonly Lazy<Action<Index1D, Floats, Floats, int, int>> _columnPartialsOfFloats = new(() =>
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, Floats, int, int>(ColumnPartialsKernel<float, Float32Words>));

            private readonly ColumnSums<TWord, TStored> _columnSums = new(accelerator);

            /// <summary>x[r, :] += bias.</summary>
            public void Forward(ArrayView<TWord> x, ArrayView<TWord> bias, int dim)
            {
                CheckShapes((int)x.Length, (int)bias.Length, dim, nameof(x), nameof(bias));
                if (x.Length > 0) _forward((int)x.Length, x, bias, dim);
            }

            /// <summary>x[r, :] += bias for float32 rows.</summary>
            public void ForwardOnFloats(Floats x, ArrayView<TWord> bias, int dim)
            {
                CheckShapes((int)x.Length, (int)bias.Length, dim, nameof(x), nameof(bias));
                if (x.Length > 0) _forwardOnFloats.Value((int)x.Length, x, bias, dim);
            }

            /// <summary>biasGrad += Σ_r outputGrad[r, :].</summary>
            public void Backward(ArrayView<TWord> biasGrad, ArrayView<TWord> outputGrad, int dim) =>
                AddColumnSums(biasGrad, outputGrad, dim, _columnPartials);

            /// <summary>biasGrad += Σ_r rows[r, :] for float32 rows.</summary>
            public void BackwardFromFloats(ArrayView<TWord> biasGrad, Floats rows, int dim) => AddColumnSums(biasGrad, rows, dim, _columnPartialsOfFloats.Value);

            public void Dispose() => _columnSums.Dispose();

            private void AddColumnSums<TRow>(ArrayView<TWord> biasGrad, ArrayView<TRow> rows, int dim,
                Action<Index1D, Floats, ArrayView<TRow>, int, int> partials)
                where TRow : unmanaged
            {
                var count = CheckShapes((int)rows.Length, (int)biasGrad.Length, dim, nameof(rows), nameof(biasGrad));
                if (count == 0) return;
                var rowsPerChunk = _columnSums.RowsPerChunk(count, dim);
                var sums = _columnSums.Partials(count, dim, rowsPerChunk);
                partials((int)sums.Length, sums, rows, dim, rowsPerChunk);
                _columnSums.AddInto(biasGrad, sums, dim);
            }
        }

        private static void ForwardKernel<TRow, TRowStored, TWord, TStored>(Index1D i, ArrayView<TRow> x, ArrayView<TWord> bias, int dim)
            where TRow : unmanaged
            where TRowStored : struct, IStoredFloats<TRow>
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var rows = default(TRowStored);
            rows.Store(x, i.X, rows.Load(x, i.X) + default(TStored).Load(bias, i.X % dim));
        }

        /// <summary>One thread per (chunk of rows, column): partials[chunk, j] = Σ_{r in chunk} rows[r, j], rows in order.</summary>
        private static void ColumnPartialsKernel<TRow, TRowStored>(Index1D index, Floats partials, ArrayView<TRow> rows, int dim, int rowsPerChunk)
            where TRow : unmanaged
            where TRowStored : struct, IStoredFloats<TRow>
        {
            var stored = default(TRowStored);
            var column = index.X % dim;
            var first = index.X / dim * rowsPerChunk;
            var end = XMath.Min(first + rowsPerChunk, (int)(rows.Length / dim));
            var sum = 0f;
            for (var r = first; r < end; r++) sum += stored.Load(rows, (long)r * dim + column);
            partials[index] = sum;
        }
    }

    /// <summary>The rows tensor [rows, dim] and the bias (or its gradient) [dim]; returns rows.</summary>
    internal static int CheckShapes(int rowsLength, int biasLength, int dim, string rowsName, string biasName)
    {
        var rows = ShapeCheck.Rows(rowsLength, dim, rowsName);
        ShapeCheck.Length(biasLength, dim, biasName);
        return rows;
    }
}
