using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Floats = ILGPU.ArrayView<float>;

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

    /// <summary>
    /// The device kernels, in either storage (statistics float32). Forward and the input gradient run one group per row:
    /// each thread takes a strided share of the columns and sums in float, the group combines the shares
    /// (<see cref="GroupReduce"/>); the variance in a second pass over the centred values, as the reference. The weight and
    /// bias gradients, sums over every row, stay on the device in two passes (<see cref="ColumnSums{TWord, TStored}"/>),
    /// one partials kernel computing both.
    /// </summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator) : IDisposable
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<KernelConfig, ArrayView<TWord>, Floats, Floats, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, int, float> _forward =
                accelerator.LoadStreamKernel<ArrayView<TWord>, Floats, Floats, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, int, float>(
                    ForwardKernel<TWord, TStored>);

            private readonly Action<KernelConfig, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, Floats, Floats, int> _inputGrad =
                accelerator.LoadStreamKernel<ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, Floats, Floats, int>(
                    InputGradKernel<TWord, TStored>);

            private readonly Action<Index1D, Floats, ArrayView<TWord>, ArrayView<TWord>, Floats, Floats, int, int> _parameterPartials =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, ArrayView<TWord>, ArrayView<TWord>, Floats, Floats, int, int>(
                    ParameterPartialsKernel<TWord, TStored>);

            private readonly ColumnSums<TWord, TStored> _parameterGrads = new(accelerator);

            public void Forward(ArrayView<TWord> output, Floats mean, Floats invStd, ArrayView<TWord> input, ArrayView<TWord> weight, ArrayView<TWord> bias,
                int dim, float eps)
            {
                var rows = CheckForwardShapes((int)output.Length, (int)mean.Length, (int)invStd.Length, (int)input.Length, (int)weight.Length,
                    (int)bias.Length, dim);
                if (rows > 0) _forward(RowGroups(rows, dim), output, mean, invStd, input, weight, bias, dim, eps);
            }

            public void Backward(ArrayView<TWord> inputGrad, ArrayView<TWord> weightGrad, ArrayView<TWord> biasGrad, ArrayView<TWord> outputGrad,
                ArrayView<TWord> input, ArrayView<TWord> weight, Floats mean, Floats invStd, int dim)
            {
                var rows = CheckBackwardShapes((int)inputGrad.Length, (int)weightGrad.Length, (int)biasGrad.Length, (int)outputGrad.Length,
                    (int)input.Length, (int)weight.Length, (int)mean.Length, (int)invStd.Length, dim);
                if (rows == 0) return;
                _inputGrad(RowGroups(rows, dim), inputGrad, outputGrad, input, weight, mean, invStd, dim);
                var rowsPerChunk = _parameterGrads.RowsPerChunk(rows, dim);
                var partials = _parameterGrads.Partials(rows, dim, rowsPerChunk, sets: 2);
                var set = partials.Length / 2;
                _parameterPartials((int)set, partials, outputGrad, input, mean, invStd, dim, rowsPerChunk);
                _parameterGrads.AddInto(weightGrad, partials.SubView(0, set), dim);
                _parameterGrads.AddInto(biasGrad, partials.SubView(set, set), dim);
            }

            public void Dispose() => _parameterGrads.Dispose();

            private KernelConfig RowGroups(int rows, int dim) => new(rows, GroupReduce.GroupSize(accelerator, dim));
        }

        private static void ForwardKernel<TWord, TStored>(ArrayView<TWord> output, Floats mean, Floats invStd, ArrayView<TWord> input,
            ArrayView<TWord> weight, ArrayView<TWord> bias, int dim, float eps)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var start = (long)Grid.IdxX * dim;
            var sum = 0f;
            for (var j = Group.IdxX; j < dim; j += Group.DimX) sum += stored.Load(input, start + j);
            var mu = GroupReduce.Sum(sum) / dim;
            var squares = 0f;
            for (var j = Group.IdxX; j < dim; j += Group.DimX)
            {
                var centred = stored.Load(input, start + j) - mu;
                squares += centred * centred;
            }
            var s = 1f / XMath.Sqrt(GroupReduce.Sum(squares) / dim + eps);
            for (var j = Group.IdxX; j < dim; j += Group.DimX)
                stored.Store(output, start + j, (stored.Load(input, start + j) - mu) * s * stored.Load(weight, j) + stored.Load(bias, j));
            if (!Group.IsFirstThread) return;
            mean[Grid.IdxX] = mu;
            invStd[Grid.IdxX] = s;
        }

        /// <summary>inputGrad[j] += s·(ĝ_j − mean(ĝ) − x̂_j·mean(ĝ·x̂)), as the reference.</summary>
        private static void InputGradKernel<TWord, TStored>(ArrayView<TWord> inputGrad, ArrayView<TWord> outputGrad, ArrayView<TWord> input,
            ArrayView<TWord> weight, Floats mean, Floats invStd, int dim)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var start = (long)Grid.IdxX * dim;
            var (mu, s) = (mean[Grid.IdxX], invStd[Grid.IdxX]);
            float gradSum = 0, gradDotNormalised = 0;
            for (var j = Group.IdxX; j < dim; j += Group.DimX)
            {
                var g = stored.Load(outputGrad, start + j) * stored.Load(weight, j);
                gradSum += g;
                gradDotNormalised += g * ((stored.Load(input, start + j) - mu) * s);
            }
            var gradMean = GroupReduce.Sum(gradSum) / dim;
            var dotMean = GroupReduce.Sum(gradDotNormalised) / dim;
            for (var j = Group.IdxX; j < dim; j += Group.DimX)
            {
                var g = stored.Load(outputGrad, start + j) * stored.Load(weight, j);
                var normalised = (stored.Load(input, start + j) - mu) * s;
                stored.Store(inputGrad, start + j, stored.Load(inputGrad, start + j) + s * (g - gradMean - normalised * dotMean));
            }
        }

        /// <summary>
        /// One thread per (chunk of rows, column): partials[chunk, j] = Σ_{r in chunk} g_rj·x̂_rj (the weight's set) and,
        /// one set further, Σ_{r in chunk} g_rj (the bias's).
        /// </summary>
        private static void ParameterPartialsKernel<TWord, TStored>(Index1D index, Floats partials, ArrayView<TWord> outputGrad, ArrayView<TWord> input,
            Floats mean, Floats invStd, int dim, int rowsPerChunk)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var column = index.X % dim;
            var first = index.X / dim * rowsPerChunk;
            var end = XMath.Min(first + rowsPerChunk, mean.IntLength);
            float weightSum = 0, biasSum = 0;
            for (var r = first; r < end; r++)
            {
                var g = stored.Load(outputGrad, (long)r * dim + column);
                weightSum += g * ((stored.Load(input, (long)r * dim + column) - mean[r]) * invStd[r]);
                biasSum += g;
            }
            partials[index] = weightSum;
            partials[partials.Length / 2 + index] = biasSum;
        }
    }

    /// <summary>The forward's shapes (input [rows, dim], output like it, mean and invStd [rows], weight and bias [dim]); returns rows.</summary>
    internal static int CheckForwardShapes(int output, int mean, int invStd, int input, int weight, int bias, int dim) =>
        ShapeCheck.RowNorm(input, dim, [(output, nameof(output))], [(mean, nameof(mean)), (invStd, nameof(invStd))],
            [(weight, nameof(weight)), (bias, nameof(bias))]);

    /// <summary>The backward's shapes: each gradient like its tensor; returns rows.</summary>
    internal static int CheckBackwardShapes(int inputGrad, int weightGrad, int biasGrad, int outputGrad, int input, int weight, int mean, int invStd,
        int dim) =>
        ShapeCheck.RowNorm(input, dim, [(inputGrad, nameof(inputGrad)), (outputGrad, nameof(outputGrad))], [(mean, nameof(mean)), (invStd, nameof(invStd))],
            [(weightGrad, nameof(weightGrad)), (biasGrad, nameof(biasGrad)), (weight, nameof(weight))]);
}
