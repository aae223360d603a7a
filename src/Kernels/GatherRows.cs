using System.Numerics;
using System.Numerics.Tensors;
using ILGPU;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Ints = ILGPU.ArrayView<int>;

namespace SimNpo.Kernels;

/// <summary>
/// Rows of a table picked by index (the gather) and its adjoint, rows added back onto the table at their indices (the
/// scatter-add). The graph uses the pair four ways: the token embedding (gather the tokens' rows of the embedding table;
/// its gradient scatter-adds back), the scored rows (gather the final-norm rows that predict a token, and scatter their
/// gradient back), and at width 1 the per-sequence sums (scatter-add each scored token's log-prob onto its sequence) and
/// weights (gather each sequence's weight onto its scored tokens).
/// </summary>
public static class GatherRows
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        /// <summary>output[r, :] = table[indices[r], :].</summary>
        public static void Gather<T>(Span<T> output, ReadOnlySpan<int> indices, ReadOnlySpan<T> table, int dim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var tableRows = ShapeCheck.Rows(table.Length, dim, nameof(table));
            ShapeCheck.Length(output.Length, indices.Length * dim, nameof(output));
            for (var r = 0; r < indices.Length; r++)
                table.Slice(TableRow(indices[r], tableRows) * dim, dim).CopyTo(output.Slice(r * dim, dim));
        }

        /// <summary>table[indices[r], :] += rows[r, :]. Sequential: an index may occur in several rows.</summary>
        public static void ScatterAdd<T>(Span<T> table, ReadOnlySpan<int> indices, ReadOnlySpan<T> rows, int dim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var tableRows = ShapeCheck.Rows(table.Length, dim, nameof(table));
            ShapeCheck.Length(rows.Length, indices.Length * dim, nameof(rows));
            for (var r = 0; r < indices.Length; r++)
            {
                var row = table.Slice(TableRow(indices[r], tableRows) * dim, dim);
                TensorPrimitives.Add(row, rows.Slice(r * dim, dim), row);
            }
        }

        private static int TableRow(int index, int tableRows) => (uint)index < (uint)tableRows
            ? index
            : throw new ArgumentOutOfRangeException(nameof(index), $"row index {index} outside a table of {tableRows} rows");
    }

    /// <summary>
    /// The device kernels, in either storage. The gather: one thread per output element. A bfloat16 table has no atomic
    /// add (a 16-bit word is half of the smallest atomic), so the scatter-add is written without atomics: a first kernel
    /// links each row to the next row of the same index and marks the index's first row; then one thread per (first row,
    /// column) walks that chain, sums the rows in float32 onto the table's value in row order, and stores once. So a table
    /// element is rounded once, not once per occurrence as a compare-and-swap loop on the aligned 32-bit word pair would
    /// round it (in an order that changes from run to run, and with no partner word for the last element of an odd-length
    /// buffer), and the sum is the reference's, in its order: deterministic, bit for bit in float32. The links cost
    /// O(rows²) comparisons of cached indices over rows threads (4M at 2048 rows); a sort of the indices would be the way
    /// past that if batches ever reach tens of thousands of rows.
    /// </summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator) : IDisposable
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<Index1D, ArrayView<TWord>, Ints, ArrayView<TWord>, int> _gather =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, Ints, ArrayView<TWord>, int>(GatherKernel<TWord, TStored>);

            private readonly Action<Index1D, Ints, Ints> _link = accelerator.LoadAutoGroupedStreamKernel<Index1D, Ints, Ints>(LinkKernel);

            private readonly Action<Index1D, ArrayView<TWord>, Ints, Ints, ArrayView<TWord>, int> _scatterAdd =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, Ints, Ints, ArrayView<TWord>, int>(ScatterAddKernel<TWord, TStored>);

            /// <summary>One link per row.</summary>
            private readonly Scratch<int> _links = new(accelerator);

            public void Gather(ArrayView<TWord> output, Ints indices, ArrayView<TWord> table, int dim)
            {
                ShapeCheck.Rows((int)table.Length, dim, nameof(table));
                ShapeCheck.Length((int)output.Length, (int)indices.Length * dim, nameof(output));
                _gather((int)output.Length, output, indices, table, dim);
            }

            public void ScatterAdd(ArrayView<TWord> table, Ints indices, ArrayView<TWord> rows, int dim)
            {
                ShapeCheck.Rows((int)table.Length, dim, nameof(table));
                ShapeCheck.Length((int)rows.Length, (int)indices.Length * dim, nameof(rows));
                if (indices.Length == 0) return;
                var links = _links.View(indices.Length);
                _link((int)indices.Length, indices, links);
                _scatterAdd((int)rows.Length, table, indices, links, rows, dim);
            }

            public void Dispose() => _links.Dispose();
        }

        /// <summary>An index outside the table cannot throw on a device: its row becomes NaN, which poisons the loss visibly.</summary>
        private static void GatherKernel<TWord, TStored>(Index1D index, ArrayView<TWord> output, Ints indices, ArrayView<TWord> table, int dim)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var tableRow = indices[index / dim];
            var stored = default(TStored);
            stored.Store(output, index.X, (uint)tableRow < (uint)(table.IntLength / dim) ? stored.Load(table, tableRow * dim + index % dim) : float.NaN);
        }

        /// <summary>
        /// links[r] = the next row with row r's index (indices.Length if none), stored as its complement (negative) unless r
        /// is the index's first row.
        /// </summary>
        private static void LinkKernel(Index1D row, Ints indices, Ints links)
        {
            var tableRow = indices[row];
            var next = indices.IntLength;
            for (var r = row + 1; r < indices.IntLength; r++)
            {
                if (indices[r] != tableRow) continue;
                next = r;
                break;
            }
            var first = true;
            for (var r = 0; r < row; r++)
            {
                if (indices[r] != tableRow) continue;
                first = false;
                break;
            }
            links[row] = first ? next : ~next;
        }

        /// <summary>Thread (row, column) of an index's first row: table[index, column] += every row of the index, in row order.</summary>
        private static void ScatterAddKernel<TWord, TStored>(Index1D index, ArrayView<TWord> table, Ints indices, Ints links, ArrayView<TWord> rows,
            int dim)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var row = index.X / dim;
            var tableRow = indices[row];
            if (links[row] < 0 || (uint)tableRow >= (uint)(table.IntLength / dim)) return;
            var column = index.X % dim;
            var stored = default(TStored);
            var sum = stored.Load(table, (long)tableRow * dim + column);
            for (var r = row; r < indices.IntLength; r = Next(links[r])) sum += stored.Load(rows, (long)r * dim + column);
            stored.Store(table, (long)tableRow * dim + column, sum);
        }

        private static int Next(int link) => link >= 0 ? link : ~link;
    }
}
