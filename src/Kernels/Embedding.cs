using System.Numerics;
using System.Numerics.Tensors;

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
}
