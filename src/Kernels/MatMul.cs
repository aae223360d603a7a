using System.Numerics;
using System.Numerics.Tensors;

namespace SimNpo.Kernels;

/// <summary>
/// The linear layer without bias: output[rows, outDim] = input[rows, inDim] · weightᵀ, the weight stored [outDim, inDim]
/// as Hugging Face does, so every output element is a dot product of two contiguous rows.
/// </summary>
public static class MatMul
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        /// <summary>
        /// Parallel over the weight's rows (output columns), so a single decoding row still uses every core. Dot products
        /// are summed in the element type, as a float32 GEMM does.
        /// </summary>
        public static void Forward<T>(Memory<T> output, ReadOnlyMemory<T> input, ReadOnlyMemory<T> weight, int rows, int inDim, int outDim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            CheckShapes(output.Length, input.Length, weight.Length, rows, inDim, outDim);
            Parallel.For(0, outDim, o =>
            {
                var x = input.Span;
                var y = output.Span;
                var weightRow = weight.Span.Slice(o * inDim, inDim);
                for (var r = 0; r < rows; r++)
                    y[r * outDim + o] = TensorPrimitives.Dot(x.Slice(r * inDim, inDim), weightRow);
            });
        }

        /// <summary>
        /// inputGrad[r, :] += Σ_o outputGrad[r, o] · weight[o, :], parallel over rows, summed in the element type like the
        /// forward; weightGrad[o, :] += Σ_r outputGrad[r, o] · input[r, :], parallel over the weight's rows and summed in
        /// float64 because it runs over every token of the batch.
        /// </summary>
        public static void Backward<T>(Memory<T> inputGrad, Memory<T> weightGrad, ReadOnlyMemory<T> outputGrad, ReadOnlyMemory<T> input,
            ReadOnlyMemory<T> weight, int rows, int inDim, int outDim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            CheckShapes(outputGrad.Length, input.Length, weight.Length, rows, inDim, outDim);
            ShapeCheck.Length(inputGrad.Length, rows * inDim, nameof(inputGrad));
            ShapeCheck.Length(weightGrad.Length, outDim * inDim, nameof(weightGrad));
            Parallel.For(0, rows, r =>
            {
                var inputGradRow = inputGrad.Span.Slice(r * inDim, inDim);
                var outputGradRow = outputGrad.Span.Slice(r * outDim, outDim);
                var w = weight.Span;
                for (var o = 0; o < outDim; o++)
                    TensorPrimitives.MultiplyAdd(w.Slice(o * inDim, inDim), outputGradRow[o], inputGradRow, inputGradRow);
            });
            Parallel.For(0, outDim, o =>
            {
                var sums = new double[inDim];
                var g = outputGrad.Span;
                var x = input.Span;
                for (var r = 0; r < rows; r++)
                {
                    var gradient = double.CreateTruncating(g[r * outDim + o]);
                    var inputRow = x.Slice(r * inDim, inDim);
                    for (var i = 0; i < inDim; i++) sums[i] += gradient * double.CreateTruncating(inputRow[i]);
                }
                var weightGradRow = weightGrad.Span.Slice(o * inDim, inDim);
                for (var i = 0; i < inDim; i++) weightGradRow[i] += T.CreateTruncating(sums[i]);
            });
        }

        private static void CheckShapes(int outputLength, int inputLength, int weightLength, int rows, int inDim, int outDim)
        {
            ShapeCheck.Length(inputLength, rows * inDim, "input");
            ShapeCheck.Length(weightLength, outDim * inDim, "weight");
            ShapeCheck.Length(outputLength, rows * outDim, "output");
        }
    }
}
