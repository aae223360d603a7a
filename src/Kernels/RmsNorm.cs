using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Floats = ILGPU.ArrayView<float>;

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
            var rows = CheckForwardShapes(output.Length, invRms.Length, input.Length, weight.Length, dim);
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
            var rows = CheckBackwardShapes(inputGrad.Length, weightGrad.Length, outputGrad.Length, input.Length, weight.Length, invRms.Length, dim);
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

    /// <summary>
    /// The device kernels. Forward and the input gradient run one group per row: each thread takes a strided share of
    /// the columns, sums in float, and the group combines the shares by warp shuffles (<see cref="GroupReduce"/>). The
    /// weight gradient, a sum over every row, stays on the device: each thread sums one column over a chunk of rows and
    /// adds its partial with Atomic.Add, so a column receives as many atomics as there are chunks, not rows.
    /// </summary>
    public static class Ilgpu
    {
        public sealed class Launcher(Accelerator accelerator)
        {
            private readonly Action<KernelConfig, Floats, Floats, Floats, Floats, int, float> _forward =
                accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, int, float>(ForwardKernel);

            private readonly Action<KernelConfig, Floats, Floats, Floats, Floats, Floats, int> _inputGrad =
                accelerator.LoadStreamKernel<Floats, Floats, Floats, Floats, Floats, int>(InputGradKernel);

            private readonly Action<Index1D, Floats, Floats, Floats, Floats, int, int> _weightGrad =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, Floats, Floats, Floats, int, int>(WeightGradKernel);

            public void Forward(Floats output, Floats invRms, Floats input, Floats weight, int dim, float eps)
            {
                var rows = CheckForwardShapes((int)output.Length, (int)invRms.Length, (int)input.Length, (int)weight.Length, dim);
                _forward(RowGroups(rows, dim), output, invRms, input, weight, dim, eps);
            }

            public void Backward(Floats inputGrad, Floats weightGrad, Floats outputGrad, Floats input, Floats weight, Floats invRms, int dim)
            {
                var rows = CheckBackwardShapes((int)inputGrad.Length, (int)weightGrad.Length, (int)outputGrad.Length, (int)input.Length,
                    (int)weight.Length, (int)invRms.Length, dim);
                _inputGrad(RowGroups(rows, dim), inputGrad, outputGrad, input, weight, invRms, dim);
                // As many chunks as fill the device with one thread per (chunk, column); more would only add atomics.
                var chunks = Math.Clamp(accelerator.MaxNumThreads / dim, 1, rows);
                var rowsPerChunk = (rows + chunks - 1) / chunks;
                _weightGrad((rows + rowsPerChunk - 1) / rowsPerChunk * dim, weightGrad, outputGrad, input, invRms, dim, rowsPerChunk);
            }

            private KernelConfig RowGroups(int rows, int dim) => new(rows, GroupReduce.GroupSize(accelerator, dim));
        }

        private static void ForwardKernel(Floats output, Floats invRms, Floats input, Floats weight, int dim, float eps)
        {
            var row = input.SubView(Grid.IdxX * dim, dim);
            var sumOfSquares = 0f;
            for (var j = Group.IdxX; j < dim; j += Group.DimX) sumOfSquares += row[j] * row[j];
            var s = 1f / XMath.Sqrt(GroupReduce.Sum(sumOfSquares) / dim + eps);
            var result = output.SubView(Grid.IdxX * dim, dim);
            for (var j = Group.IdxX; j < dim; j += Group.DimX) result[j] = row[j] * s * weight[j];
            if (Group.IsFirstThread) invRms[Grid.IdxX] = s;
        }

        /// <summary>inputGrad[j] += s·w_j·g_j − s³/dim · x_j · Σ_i g_i w_i x_i, as the reference.</summary>
        private static void InputGradKernel(Floats inputGrad, Floats outputGrad, Floats input, Floats weight, Floats invRms, int dim)
        {
            var (x, g) = (input.SubView(Grid.IdxX * dim, dim), outputGrad.SubView(Grid.IdxX * dim, dim));
            var gradDotNormalised = 0f;
            for (var j = Group.IdxX; j < dim; j += Group.DimX) gradDotNormalised += g[j] * weight[j] * x[j];
            var s = invRms[Grid.IdxX];
            var correction = s * s * s / dim * GroupReduce.Sum(gradDotNormalised);
            var result = inputGrad.SubView(Grid.IdxX * dim, dim);
            for (var j = Group.IdxX; j < dim; j += Group.DimX) result[j] += s * weight[j] * g[j] - correction * x[j];
        }

        /// <summary>One thread per (chunk of rows, column): weightGrad[j] += Σ_{r in chunk} g_rj · x_rj · s_r.</summary>
        private static void WeightGradKernel(Index1D index, Floats weightGrad, Floats outputGrad, Floats input, Floats invRms, int dim, int rowsPerChunk)
        {
            var column = index % dim;
            var first = index / dim * rowsPerChunk;
            var end = XMath.Min(first + rowsPerChunk, invRms.IntLength);
            var sum = 0f;
            for (var r = first; r < end; r++) sum += outputGrad[r * dim + column] * input[r * dim + column] * invRms[r];
            Atomic.Add(ref weightGrad[column], sum);
        }
    }

    /// <summary>The forward's shapes (input [rows, dim], output like it, invRms [rows], weight [dim]); returns rows.</summary>
    internal static int CheckForwardShapes(int output, int invRms, int input, int weight, int dim)
    {
        var rows = ShapeCheck.Rows(input, dim, nameof(input));
        ShapeCheck.Length(output, input, nameof(output));
        ShapeCheck.Length(invRms, rows, nameof(invRms));
        ShapeCheck.Length(weight, dim, nameof(weight));
        return rows;
    }

    /// <summary>The backward's shapes: each gradient like its tensor; returns rows.</summary>
    internal static int CheckBackwardShapes(int inputGrad, int weightGrad, int outputGrad, int input, int weight, int invRms, int dim)
    {
        var rows = ShapeCheck.Rows(input, dim, nameof(input));
        ShapeCheck.Length(inputGrad, input, nameof(inputGrad));
        ShapeCheck.Length(outputGrad, input, nameof(outputGrad));
        ShapeCheck.Length(weightGrad, dim, nameof(weightGrad));
        ShapeCheck.Length(weight, dim, nameof(weight));
        ShapeCheck.Length(invRms, rows, nameof(invRms));
        return rows;
    }
}
