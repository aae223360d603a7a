using System.Numerics;
using System.Numerics.Tensors;
using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;
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
    /// The device kernels: one thread per output element. The backward scatter-adds with Atomic.Add: one pass over the
    /// gradient, no sort and no scratch memory; a token that repeats in the batch gets its rows added in an
    /// unspecified order, so its table row may differ from the reference's in the last bits (order, not precision).
    /// </summary>
    public static class Ilgpu
    {
        public sealed class Launcher(Accelerator accelerator)
        {
            private readonly Action<Index1D, Floats, Ints, Floats, int> _forward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, Ints, Floats, int>(ForwardKernel);

            private readonly Action<Index1D, Floats, Ints, Floats, int> _backward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, Ints, Floats, int>(BackwardKernel);

            public void Forward(Floats output, Ints tokens, Floats table, int dim)
            {
                ShapeCheck.Rows((int)table.Length, dim, nameof(table));
                ShapeCheck.Length((int)output.Length, (int)tokens.Length * dim, nameof(output));
                _forward((int)output.Length, output, tokens, table, dim);
            }

            public void Backward(Floats tableGrad, Ints tokens, Floats outputGrad, int dim)
            {
                ShapeCheck.Rows((int)tableGrad.Length, dim, nameof(tableGrad));
                ShapeCheck.Length((int)outputGrad.Length, (int)tokens.Length * dim, nameof(outputGrad));
                _backward((int)outputGrad.Length, tableGrad, tokens, outputGrad, dim);
            }
        }

        /// <summary>A token outside the table cannot throw on a device: its row becomes NaN, which poisons the loss visibly.</summary>
        private static void ForwardKernel(Index1D index, Floats output, Ints tokens, Floats table, int dim)
        {
            var token = tokens[index / dim];
            output[index] = (uint)token < (uint)(table.IntLength / dim) ? table[token * dim + index % dim] : float.NaN;
        }

        private static void BackwardKernel(Index1D index, Floats tableGrad, Ints tokens, Floats outputGrad, int dim)
        {
            var token = tokens[index / dim];
            if ((uint)token < (uint)(tableGrad.IntLength / dim)) Atomic.Add(ref tableGrad[token * dim + index % dim], outputGrad[index]);
        }
    }
}
