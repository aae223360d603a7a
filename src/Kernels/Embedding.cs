using System.Numerics;
using System.Numerics.Tensors;
using ILGPU;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Ints = ILGPU.ArrayView<int>;

namespace SimNpo.Kernels;

/// <summary>Token embedding: each row of the output is the table row of its token.</summary>
public static class Embedding
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        /// <summary>output[r, :] = table[tokens[r], :].</summary>
        public static void Forward<T>(Span<T> output, ReadOnlySpan<int> tokens, ReadOnlySpan<T> table, int dim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var vocab = ShapeCheck.Rows(table.Length, dim, nameof(table));
            ShapeCheck.Length(output.Length, tokens.Length * dim, nameof(output));
            for (var r = 0; r < tokens.Length; r++)
                table.Slice(TableRow(tokens[r], vocab) * dim, dim).CopyTo(output.Slice(r * dim, dim));
        }

        /// <summary>tableGrad[tokens[r], :] += outputGrad[r, :]. Sequential: a token may occur in several rows.</summary>
        public static void Backward<T>(Span<T> tableGrad, ReadOnlySpan<int> tokens, ReadOnlySpan<T> outputGrad, int dim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var vocab = ShapeCheck.Rows(tableGrad.Length, dim, nameof(tableGrad));
            ShapeCheck.Length(outputGrad.Length, tokens.Length * dim, nameof(outputGrad));
            for (var r = 0; r < tokens.Length; r++)
            {
                var row = tableGrad.Slice(TableRow(tokens[r], vocab) * dim, dim);
                TensorPrimitives.Add(row, outputGrad.Slice(r * dim, dim), row);
            }
        }

        private static int TableRow(int token, int vocab) =>
            (uint)token < (uint)vocab ? token : throw new ArgumentOutOfRangeException(nameof(token), $"token {token} outside a vocabulary of {vocab}");
    }

    /// <summary>
    /// The device kernels, in either storage. The forward: one thread per output element. The backward is a scatter-add,
    /// and a bfloat16 table has no atomic add (a 16-bit word is half of the smallest atomic), so it is written without
    /// atomics: a first kernel links each row to the next row of the same token and marks the token's first row; then one
    /// thread per (first row, column) walks that chain, sums the gradient rows in float32 onto the table's value in row
    /// order, and stores once. So a table element is rounded once, not once per occurrence as a compare-and-swap loop on
    /// the aligned 32-bit word pair would round it (in an order that changes from run to run, and with no partner word for
    /// the last element of an odd-length buffer), and the sum is the reference's, in its order: deterministic, bit for bit
    /// in float32. The links cost O(rows²) comparisons of cached token ids over rows threads (4M at 2048 rows); a sort of
    /// the tokens would be the way past that if batches ever reach tens of thousands of rows.
    /// </summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator) : IDisposable
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<Index1D, ArrayView<TWord>, Ints, ArrayView<TWord>, int> _forward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, Ints, ArrayView<TWord>, int>(ForwardKernel<TWord, TStored>);

            private readonly Action<Index1D, Ints, Ints> _link = accelerator.LoadAutoGroupedStreamKernel<Index1D, Ints, Ints>(LinkKernel);

            private readonly Action<Index1D, ArrayView<TWord>, Ints, Ints, ArrayView<TWord>, int> _backward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, Ints, Ints, ArrayView<TWord>, int>(BackwardKernel<TWord, TStored>);

            /// <summary>One link per row.</summary>
            private readonly Scratch<int> _links = new(accelerator);

            public void Forward(ArrayView<TWord> output, Ints tokens, ArrayView<TWord> table, int dim)
            {
                ShapeCheck.Rows((int)table.Length, dim, nameof(table));
                ShapeCheck.Length((int)output.Length, (int)tokens.Length * dim, nameof(output));
                _forward((int)output.Length, output, tokens, table, dim);
            }

            public void Backward(ArrayView<TWord> tableGrad, Ints tokens, ArrayView<TWord> outputGrad, int dim)
            {
                ShapeCheck.Rows((int)tableGrad.Length, dim, nameof(tableGrad));
                ShapeCheck.Length((int)outputGrad.Length, (int)tokens.Length * dim, nameof(outputGrad));
                if (tokens.Length == 0) return;
                var links = _links.View(tokens.Length);
                _link((int)tokens.Length, tokens, links);
                _backward((int)outputGrad.Length, tableGrad, tokens, links, outputGrad, dim);
            }

            public void Dispose() => _links.Dispose();
        }

        /// <summary>A token outside the table cannot throw on a device: its row becomes NaN, which poisons the loss visibly.</summary>
        private static void ForwardKernel<TWord, TStored>(Index1D index, ArrayView<TWord> output, Ints tokens, ArrayView<TWord> table, int dim)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var token = tokens[index / dim];
            var stored = default(TStored);
            stored.Store(output, index.X, (uint)token < (uint)(table.IntLength / dim) ? stored.Load(table, token * dim + index % dim) : float.NaN);
        }

        /// <summary>
        /// links[r] = the next row with row r's token (rows.Length if none), stored as its complement (negative) unless r is
        /// the token's first row.
        /// </summary>
        private static void LinkKernel(Index1D row, Ints tokens, Ints links)
        {
            var token = tokens[row];
            var next = tokens.IntLength;
            for (var r = row + 1; r < tokens.IntLength; r++)
            {
                if (tokens[r] != token) continue;
                next = r;
                break;
            }
            var first = true;
            for (var r = 0; r < row; r++)
            {
                if (tokens[r] != token) continue;
                first = false;
                break;
            }
            links[row] = first ? next : ~next;
        }

        /// <summary>Thread (row, column) of a token's first row: tableGrad[token, column] += every row of the token, in row order.</summary>
        private static void BackwardKernel<TWord, TStored>(Index1D index, ArrayView<TWord> tableGrad, Ints tokens, Ints links, ArrayView<TWord> outputGrad,
            int dim)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var row = index.X / dim;
            var token = tokens[row];
            if (links[row] < 0 || (uint)token >= (uint)(tableGrad.IntLength / dim)) return;
            var column = index.X % dim;
            var stored = default(TStored);
            var sum = stored.Load(tableGrad, (long)token * dim + column);
            for (var r = row; r < tokens.IntLength; r = Next(links[r])) sum += stored.Load(outputGrad, (long)r * dim + column);
            stored.Store(tableGrad, (long)token * dim + column, sum);
        }

        private static int Next(int link) => link >= 0 ? link : ~link;
    }
}
