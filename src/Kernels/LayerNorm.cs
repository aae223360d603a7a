using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>
/// Layer normalisation of each row (Phi's input and final norms, torch.nn.LayerNorm): y = (x − μ) · s · w + b with
/// μ = mean(x) and s = 1 / sqrt(var(x) + eps), the population variance. The row's μ and s are kept for the backward,
/// as statistics in T (float32 whatever the bulk storage on the fast paths).
/// </summary>
public static class LayerNorm
{
    /// <summary>The CPU reference: the specification every fast kernel of this op is held to. Rows run in parallel.</summary>
    public static class Reference
    {
        public static void Forward<T>(Memory<T> output, Memory<T> mean, Memory<T> invStd, ReadOnlyMemory<T> input, ReadOnlyMemory<T> weight,
            ReadOnlyMemory<T> bias, int dim, double eps)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckForwardShapes(output.Length, mean.Length, invStd.Length, input.Length, weight.Length, bias.Length, dim);
            Parallel.For(0, rows, r =>
                (mean.Span[r], invStd.Span[r]) = ForwardRow(output.Span.Slice(r * dim, dim), input.Span.Slice(r * dim, dim), weight.Span, bias.Span, eps));
        }

        /// <summary>
        /// Normalises one row and returns its mean and 1/std. Both sums are taken in float64, the variance in two passes
        /// (the squares of x − μ, not mean(x²) − μ², which cancels catastrophically in a row with a large mean); each
        /// output is computed in float64 and rounded once.
        /// </summary>
        private static (T Mean, T InvStd) ForwardRow<T>(Span<T> output, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, double eps)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (mean, invStd) = Statistics(input, eps);
            for (var i = 0; i < input.Length; i++)
                output[i] = T.CreateTruncating((double.CreateTruncating(input[i]) - mean) * invStd * double.CreateTruncating(weight[i])
                                               + double.CreateTruncating(bias[i]));
            return (T.CreateTruncating(mean), T.CreateTruncating(invStd));
        }

        /// <summary>A row's mean and 1/sqrt(population variance + eps), in float64.</summary>
        internal static (double Mean, double InvStd) Statistics<T>(ReadOnlySpan<T> input, double eps) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var sum = 0.0;
            foreach (var x in input) sum += double.CreateTruncating(x);
            var mean = sum / input.Length;
            var squares = 0.0;
            foreach (var x in input)
            {
                var centred = double.CreateTruncating(x) - mean;
                squares += centred * centred;
            }
            return (mean, 1 / Math.Sqrt(squares / input.Length + eps));
        }

        /// <summary>
        /// With x̂ = (x − μ)·s and ĝ = g·w: inputGrad[r, j] += s·(ĝ_j − mean(ĝ) − x̂_j·mean(ĝ·x̂)) (rows in parallel);
        /// weightGrad[j] += Σ_r g_rj·x̂_rj and biasGrad[j] += Σ_r g_rj, sums over every token in row order in float64.
        /// </summary>
        public static void Backward<T>(Memory<T> inputGrad, Memory<T> weightGrad, Memory<T> biasGrad, ReadOnlyMemory<T> outputGrad, ReadOnlyMemory<T> input,
            ReadOnlyMemory<T> weight, ReadOnlyMemory<T> mean, ReadOnlyMemory<T> invStd, int dim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckBackwardShapes(inputGrad.Length, weightGrad.Length, biasGrad.Length, outputGrad.Length, input.Length, weight.Length,
                mean.Length, invStd.Length, dim);
            Parallel.For(0, rows, r => InputGradRow(inputGrad.Span.Slice(r * dim, dim), outputGrad.Span.Slice(r * dim, dim),
                input.Span.Slice(r * dim, dim), weight.Span, double.CreateTruncating(mean.Span[r]), double.CreateTruncating(invStd.Span[r])));
            WeightGrad(weightGrad.Span, outputGrad.Span, input.Span, mean.Span, invStd.Span, dim);
            Bias.Reference.Backward(biasGrad.Span, outputGrad.Span, dim);
        }

        private static void InputGradRow<T>(Span<T> inputGrad, ReadOnlySpan<T> outputGrad, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, double mean,
            double invStd)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            double gradSum = 0, gradDotNormalised = 0; // Σ ĝ, Σ ĝ·x̂
            for (var i = 0; i < input.Length; i++)
            {
                var g = double.CreateTruncating(outputGrad[i]) * double.CreateTruncating(weight[i]);
                gradSum += g;
                gradDotNormalised += g * (double.CreateTruncating(input[i]) - mean) * invStd;
            }
            var (gradMean, dotMean) = (gradSum / input.Length, gradDotNormalised / input.Length);
            for (var j = 0; j < input.Length; j++)
            {
                var g = double.CreateTruncating(outputGrad[j]) * double.CreateTruncating(weight[j]);
                var normalised = (double.CreateTruncating(input[j]) - mean) * invStd;
                inputGrad[j] += T.CreateTruncating(invStd * (g - gradMean - normalised * dotMean));
            }
        }

        private static void WeightGrad<T>(Span<T> weightGrad, ReadOnlySpan<T> outputGrad, ReadOnlySpan<T> input, ReadOnlySpan<T> mean,
            ReadOnlySpan<T> invStd, int dim)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var sums = new double[dim];
            for (var r = 0; r < mean.Length; r++)
            {
                var (mu, s) = (double.CreateTruncating(mean[r]), double.CreateTruncating(invStd[r]));
                for (var j = 0; j < dim; j++)
                    sums[j] += double.CreateTruncating(outputGrad[r * dim + j]) * (double.CreateTruncating(input[r * dim + j]) - mu) * s;
            }
            for (var j = 0; j < dim; j++) weightGrad[j] += T.CreateTruncating(sums[j]);
        }
    }

    /// <summary>The forward's shapes (input [rows, dim], output like it, mean and invStd [rows], weight and bias [dim]); returns rows.</summary>
    internal static int CheckForwardShapes(int output, int mean, int invStd, int input, int weight, int bias, int dim)
    {
        var rows = ShapeCheck.Rows(input, dim, nameof(input));
        ShapeCheck.Length(output, input, nameof(output));
        ShapeCheck.Length(mean, rows, nameof(mean));
        ShapeCheck.Length(invStd, rows, nameof(invStd));
        ShapeCheck.Length(weight, dim, nameof(weight));
        ShapeCheck.Length(bias, dim, nameof(bias));
        return rows;
    }

    /// <summary>The backward's shapes: each gradient like its tensor; returns rows.</summary>
    internal static int CheckBackwardShapes(int inputGrad, int weightGrad, int biasGrad, int outputGrad, int input, int weight, int mean, int invStd,
        int dim)
    {
        var rows = ShapeCheck.Rows(input, dim, nameof(input));
        ShapeCheck.Length(inputGrad, input, nameof(inputGrad));
        ShapeCheck.Length(outputGrad, input, nameof(outputGrad));
        ShapeCheck.Length(weightGrad, dim, nameof(weightGrad));
        ShapeCheck.Length(biasGrad, dim, nameof(biasGrad));
        ShapeCheck.Length(weight, dim, nameof(weight));
        ShapeCheck.Length(mean, rows, nameof(mean));
        ShapeCheck.Length(invStd, rows, nameof(invStd));
        return rows;
    }
}
