using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>
/// Root-mean-square normalisation of each row, then a learned per-column gain: y = x · s · w with
/// s = 1 / sqrt(mean(x²) + eps). The row's s is kept for the backward.
/// </summary>
public static class RmsNorm
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to. Rows run in parallel.</summary>
    public static class Reference
    {
        public static void Forward<T>(Memory<T> output, Memory<T> invRms, ReadOnlyMemory<T> input, ReadOnlyMemory<T> weight, int dim, double eps)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = ShapeCheck.Rows(input.Length, dim, nameof(input));
            ShapeCheck.Length(output.Length, input.Length, nameof(output));
            ShapeCheck.Length(invRms.Length, rows, nameof(invRms));
            ShapeCheck.Length(weight.Length, dim, nameof(weight));
            Parallel.For(0, rows, r =>
                invRms.Span[r] = ForwardRow(output.Span.Slice(r * dim, dim), input.Span.Slice(r * dim, dim), weight.Span, eps));
        }

        /// <summary>Normalises one row and returns its 1/rms; the mean of squares is taken in float64.</summary>
        private static T ForwardRow<T>(Span<T> output, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, double eps)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var invRms = 1 / Math.Sqrt(SumOfSquares.Reference.Compute(input) / input.Length + eps);
            // Normalise, then apply the gain, in this order as Hugging Face's LlamaRMSNorm does.
            for (var i = 0; i < input.Length; i++)
                output[i] = T.CreateTruncating(double.CreateTruncating(input[i]) * invRms) * weight[i];
            return T.CreateTruncating(invRms);
        }

        /// <summary>
        /// inputGrad[r, j] += s·w_j·g_j − s³/dim · x_j · Σ_i g_i w_i x_i (rows in parallel);
        /// weightGrad[j] += Σ_r g_rj · x_rj · s_r, a sum over every token, accumulated in float64.
        /// </summary>
        public static void Backward<T>(Memory<T> inputGrad, Memory<T> weightGrad, ReadOnlyMemory<T> outputGrad, ReadOnlyMemory<T> input,
            ReadOnlyMemory<T> weight, ReadOnlyMemory<T> invRms, int dim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = ShapeCheck.Rows(input.Length, dim, nameof(input));
            ShapeCheck.Length(inputGrad.Length, input.Length, nameof(inputGrad));
            ShapeCheck.Length(outputGrad.Length, input.Length, nameof(outputGrad));
            ShapeCheck.Length(weightGrad.Length, dim, nameof(weightGrad));
            ShapeCheck.Length(weight.Length, dim, nameof(weight));
            ShapeCheck.Length(invRms.Length, rows, nameof(invRms));
            Parallel.For(0, rows, r => InputGradRow(inputGrad.Span.Slice(r * dim, dim), outputGrad.Span.Slice(r * dim, dim),
                input.Span.Slice(r * dim, dim), weight.Span, double.CreateTruncating(invRms.Span[r])));
            WeightGrad(weightGrad.Span, outputGrad.Span, input.Span, invRms.Span, dim);
        }

        private static void InputGradRow<T>(Span<T> inputGrad, ReadOnlySpan<T> outputGrad, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, double invRms)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var gradDotNormalised = 0.0; // Σ_i g_i w_i x_i
            for (var i = 0; i < input.Length; i++)
                gradDotNormalised += double.CreateTruncating(outputGrad[i]) * double.CreateTruncating(weight[i]) * double.CreateTruncating(input[i]);
            var correction = invRms * invRms * invRms / input.Length * gradDotNormalised;
            for (var j = 0; j < input.Length; j++)
            {
                var direct = invRms * double.CreateTruncating(weight[j]) * double.CreateTruncating(outputGrad[j]);
                inputGrad[j] += T.CreateTruncating(direct - correction * double.CreateTruncating(input[j]));
            }
        }

        private static void WeightGrad<T>(Span<T> weightGrad, ReadOnlySpan<T> outputGrad, ReadOnlySpan<T> input, ReadOnlySpan<T> invRms, int dim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var sums = new double[dim];
            for (var r = 0; r < invRms.Length; r++)
            {
                var s = double.CreateTruncating(invRms[r]);
                for (var j = 0; j < dim; j++)
                    sums[j] += double.CreateTruncating(outputGrad[r * dim + j]) * double.CreateTruncating(input[r * dim + j]) * s;
            }
            for (var j = 0; j < dim; j++) weightGrad[j] += T.CreateTruncating(sums[j]);
        }
    }
}
