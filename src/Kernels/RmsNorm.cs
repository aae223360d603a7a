using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Floats = ILGPU.ArrayView<float>;

namespace SimNpo.Kernels;

/// <summary>
/// Root-mean-square normalisation of each row, then a learned per-column gain: y = x · s · (o + w) with
/// s = 1 / sqrt(mean(x²) + eps) and the weight offset o 0 (Llama) or 1 (Gemma, whose checkpoints store the gain minus one,
/// as transformers' GemmaRMSNorm applies it). The row's s is kept for the backward.
/// </summary>
public static class RmsNorm
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to. Rows run in parallel.</summary>
    public static class Reference
    {
        public static void Forward<T>(Memory<T> output, Memory<T> invRms, ReadOnlyMemory<T> input, ReadOnlyMemory<T> weight, int dim, double eps,
            double weightOffset)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckForwardShapes(output.Length, invRms.Length, input.Length, weight.Length, dim);
            Parallel.For(0, rows, r =>
                invRms.Span[r] = ForwardRow(output.Span.Slice(r * dim, dim), input.Span.Slice(r * dim, dim), weight.Span, eps, weightOffset));
        }

        /// <summary>Normalises one row and returns its 1/rms; the mean of squares is taken in float64.</summary>
        private static T ForwardRow<T>(Span<T> output, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, double eps, double weightOffset)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var invRms = 1 / Math.Sqrt(SumOfSquares.Reference.Compute(input) / input.Length + eps);
            var offset = T.CreateTruncating(weightOffset);
            // Normalise, then apply the gain, in this order as Hugging Face's LlamaRMSNorm does.
            for (var i = 0; i < input.Length; i++)
                output[i] = T.CreateTruncating(double.CreateTruncating(input[i]) * invRms) * (offset + weight[i]);
            return T.CreateTruncating(invRms);
        }

        /// <summary>
        /// inputGrad[r, j] += s·w_j·g_j − s³/dim · x_j · Σ_i g_i w_i x_i with w the gain o + weight (rows in parallel);
        /// weightGrad[j] += Σ_r g_rj · x_rj · s_r, a sum over every token, accumulated in float64.
        /// </summary>
        public static void Backward<T>(Memory<T> inputGrad, Memory<T> weightGrad, ReadOnlyMemory<T> outputGrad, ReadOnlyMemory<T> input,
            ReadOnlyMemory<T> weight, ReadOnlyMemory<T> invRms, int dim, double weightOffset)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckBackwardShapes(inputGrad.Length, weightGrad.Length, outputGrad.Length, input.Length, weight.Length, invRms.Length, dim);
            Parallel.For(0, rows, r => InputGradRow(inputGrad.Span.Slice(r * dim, dim), outputGrad.Span.Slice(r * dim, dim),
                input.Span.Slice(r * dim, dim), weight.Span, double.CreateTruncating(invRms.Span[r]), weightOffset));
            WeightGrad(weightGrad.Span, outputGrad.Span, input.Span, invRms.Span, dim);
        }

        private static void InputGradRow<T>(Span<T> inputGrad, ReadOnlySpan<T> outputGrad, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, double invRms,
            double weightOffset)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var gradDotNormalised = 0.0; // Σ_i g_i w_i x_i
            for (var i = 0; i < input.Length; i++)
            {
                var gain = weightOffset + double.CreateTruncating(weight[i]);
                gradDotNormalised += double.CreateTruncating(outputGrad[i]) * gain * double.CreateTruncating(input[i]);
            }
            var correction = invRms * invRms * invRms / input.Length * gradDotNormalised;
            for (var j = 0; j < input.Length; j++)
            {
                var direct = invRms * (weightOffset + double.CreateTruncating(weight[j])) * double.CreateTruncating(outputGrad[j]);
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

    /// <summary>
    /// The device kernels, in either storage (statistics float32). Forward and the input gradient run one group per row:
    /// each thread takes a strided share of the columns, sums in float, and the group combines the shares by warp shuffles
    /// (<see cref="GroupReduce"/>). The weight gradient, a sum over every row, stays on the device in two passes
    /// (<see cref="ColumnSums{TWord, TStored}"/>): deterministic, and rounded to the storage once.
    /// </summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator) : IDisposable
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<KernelConfig, ArrayView<TWord>, Floats, ArrayView<TWord>, ArrayView<TWord>, int, float, float> _forward =
                accelerator.LoadStreamKernel<ArrayView<TWord>, Floats, ArrayView<TWord>, ArrayView<TWord>, int, float, float>(ForwardKernel<TWord, TStored>);

            private readonly Action<KernelConfig, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, Floats, int, float> _inputGrad =
                accelerator.LoadStreamKernel<ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, Floats, int, float>(
                    InputGradKernel<TWord, TStored>);

            private readonly Action<Index1D, Floats, ArrayView<TWord>, ArrayView<TWord>, Floats, int, int> _weightGradPartials =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, ArrayView<TWord>, ArrayView<TWord>, Floats, int, int>(
                    WeightGradPartialsKernel<TWord, TStored>);

            private readonly ColumnSums<TWord, TStored> _weightGrad = new(accelerator);

            public void Forward(ArrayView<TWord> output, Floats invRms, ArrayView<TWord> input, ArrayView<TWord> weight, int dim, float eps,
                float weightOffset)
            {
                var rows = CheckForwardShapes((int)output.Length, (int)invRms.Length, (int)input.Length, (int)weight.Length, dim);
                _forward(RowGroups(rows, dim), output, invRms, input, weight, dim, eps, weightOffset);
            }

            public void Backward(ArrayView<TWord> inputGrad, ArrayView<TWord> weightGrad, ArrayView<TWord> outputGrad, ArrayView<TWord> input,
                ArrayView<TWord> weight, Floats invRms, int dim, float weightOffset)
            {
                var rows = CheckBackwardShapes((int)inputGrad.Length, (int)weightGrad.Length, (int)outputGrad.Length, (int)input.Length,
                    (int)weight.Length, (int)invRms.Length, dim);
                if (rows == 0) return;
                _inputGrad(RowGroups(rows, dim), inputGrad, outputGrad, input, weight, invRms, dim, weightOffset);
                var rowsPerChunk = _weightGrad.RowsPerChunk(rows, dim);
                var partials = _weightGrad.Partials(rows, dim, rowsPerChunk);
                _weightGradPartials((int)partials.Length, partials, outputGrad, input, invRms, dim, rowsPerChunk);
                _weightGrad.AddInto(weightGrad, partials, dim);
            }

            public void Dispose() => _weightGrad.Dispose();

            private KernelConfig RowGroups(int rows, int dim) => new(rows, GroupReduce.GroupSize(accelerator, dim));
        }

        private static void ForwardKernel<TWord, TStored>(ArrayView<TWord> output, Floats invRms, ArrayView<TWord> input, ArrayView<TWord> weight, int dim,
            float eps, float weightOffset)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var start = (long)Grid.IdxX * dim;
            var sumOfSquares = 0f;
            for (var j = Group.IdxX; j < dim; j += Group.DimX)
            {
                var x = stored.Load(input, start + j);
                sumOfSquares += x * x;
            }
            var s = 1f / XMath.Sqrt(GroupReduce.Sum(sumOfSquares) / dim + eps);
            for (var j = Group.IdxX; j < dim; j += Group.DimX)
                stored.Store(output, start + j, stored.Load(input, start + j) * s * (weightOffset + stored.Load(weight, j)));
            if (Group.IsFirstThread) invRms[Grid.IdxX] = s;
        }

        /// <summary>inputGrad[j] += s·w_j·g_j − s³/dim · x_j · Σ_i g_i w_i x_i with w the gain o + weight, as the reference.</summary>
        private static void InputGradKernel<TWord, TStored>(ArrayView<TWord> inputGrad, ArrayView<TWord> outputGrad, ArrayView<TWord> input,
            ArrayView<TWord> weight, Floats invRms, int dim, float weightOffset)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var start = (long)Grid.IdxX * dim;
            var gradDotNormalised = 0f;
            for (var j = Group.IdxX; j < dim; j += Group.DimX)
                gradDotNormalised += stored.Load(outputGrad, start + j) * (weightOffset + stored.Load(weight, j)) * stored.Load(input, start + j);
            var s = invRms[Grid.IdxX];
            var correction = s * s * s / dim * GroupReduce.Sum(gradDotNormalised);
            for (var j = Group.IdxX; j < dim; j += Group.DimX)
            {
                var direct = s * (weightOffset + stored.Load(weight, j)) * stored.Load(outputGrad, start + j);
                stored.Store(inputGrad, start + j, stored.Load(inputGrad, start + j) + (direct - correction * stored.Load(input, start + j)));
            }
        }

        /// <summary>One thread per (chunk of rows, column): partials[chunk, j] = Σ_{r in chunk} g_rj · x_rj · s_r.</summary>
        private static void WeightGradPartialsKernel<TWord, TStored>(Index1D index, Floats partials, ArrayView<TWord> outputGrad, ArrayView<TWord> input,
            Floats invRms, int dim, int rowsPerChunk)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var column = index.X % dim;
            var first = index.X / dim * rowsPerChunk;
            var end = XMath.Min(first + rowsPerChunk, invRms.IntLength);
            var sum = 0f;
            for (var r = first; r < end; r++) sum += stored.Load(outputGrad, (long)r * dim + column) * stored.Load(input, (long)r * dim + column) * invRms[r];
            partials[index] = sum;
        }
    }

    /// <summary>The forward's shapes (input [rows, dim], output like it, invRms [rows], weight [dim]); returns rows.</summary>
    internal static int CheckForwardShapes(int output, int invRms, int input, int weight, int dim) =>
        ShapeCheck.RowNorm(input, dim, [(output, nameof(output))], [(invRms, nameof(invRms))], [(weight, nameof(weight))]);

    /// <summary>The backward's shapes: each gradient like its tensor; returns rows.</summary>
    internal static int CheckBackwardShapes(int inputGrad, int weightGrad, int outputGrad, int input, int weight, int invRms, int dim) =>
        ShapeCheck.RowNorm(input, dim, [(inputGrad, nameof(inputGrad)), (outputGrad, nameof(outputGrad))], [(invRms, nameof(invRms))],
            [(weightGrad, nameof(weightGrad)), (weight, nameof(weight))]);
}
