using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;
using Floats = ILGPU.ArrayView<float>;
using Ints = ILGPU.ArrayView<int>;

namespace SimNpo.Kernels;

/// <summary>
/// llm.c's fused classifier without its matmul (with it: <see cref="ChunkedOutputLoss"/>): the log-probability of each
/// row's label under the softmax of its logits, and a backward that writes the logits' gradient over the logits, so the
/// [rows, vocab] softmax is never stored. Rows whose label is negative (prompt and padding tokens) give 0 and get a zero
/// gradient.
/// </summary>
public static class LogSoftmaxAtLabels
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to. Rows run in parallel.</summary>
    public static class Reference
    {
        /// <summary>logProb[r] = logits[r, labels[r]] − logSumExp[r], with the log-sum-exp kept for the backward (both 0 for ignored rows).</summary>
        public static void Forward<T>(Memory<T> logProb, Memory<T> logSumExp, ReadOnlyMemory<T> logits, ReadOnlyMemory<int> labels, int vocab)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckShapes(logits.Length, logSumExp.Length, labels.Span, vocab);
            ShapeCheck.Length(logProb.Length, rows, nameof(logProb));
            Parallel.For(0, rows, r =>
            {
                var label = labels.Span[r];
                if (label < 0)
                {
                    logProb.Span[r] = logSumExp.Span[r] = T.Zero;
                    return;
                }
                var row = logits.Span.Slice(r * vocab, vocab);
                var lse = LogSumExp(row);
                logSumExp.Span[r] = T.CreateTruncating(lse);
                logProb.Span[r] = T.CreateTruncating(double.CreateTruncating(row[label]) - lse);
            });
        }

        /// <summary>
        /// logitsGrad[r, j] = logProbGrad[r] · (onehot(labels[r])_j − softmax_j), overwriting, not adding: logitsGrad may be
        /// the logits themselves, each element being read just before it is replaced.
        /// </summary>
        public static void Backward<T>(Memory<T> logitsGrad, ReadOnlyMemory<T> logits, ReadOnlyMemory<T> logSumExp, ReadOnlyMemory<int> labels,
            ReadOnlyMemory<T> logProbGrad, int vocab)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckShapes(logits.Length, logSumExp.Length, labels.Span, vocab);
            ShapeCheck.Length(logitsGrad.Length, logits.Length, nameof(logitsGrad));
            ShapeCheck.Length(logProbGrad.Length, rows, nameof(logProbGrad));
            Parallel.For(0, rows, r =>
            {
                var gradRow = logitsGrad.Span.Slice(r * vocab, vocab);
                var label = labels.Span[r];
                if (label < 0)
                {
                    gradRow.Clear();
                    return;
                }
                RowGradient(gradRow, logits.Span.Slice(r * vocab, vocab), logSumExp.Span[r], logProbGrad.Span[r], label);
            });
        }

        /// <summary>
        /// One row's (or one vocabulary chunk's) gradient g·(onehot − softmax) in float64, the one-hot at column
        /// <paramref name="hotColumn"/>, which may lie outside the row (a chunk that does not hold the label).
        /// </summary>
        internal static void RowGradient<T>(Span<T> gradRow, ReadOnlySpan<T> row, T logSumExp, T logProbGrad, int hotColumn)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var lse = double.CreateTruncating(logSumExp);
            var g = double.CreateTruncating(logProbGrad);
            for (var j = 0; j < row.Length; j++)
            {
                var probability = Math.Exp(double.CreateTruncating(row[j]) - lse);
                gradRow[j] = T.CreateTruncating(g * ((j == hotColumn ? 1 : 0) - probability));
            }
        }

        /// <summary>One pass in float64: a running maximum, and the sum of exponentials rescaled whenever the maximum grows.</summary>
        internal static double LogSumExp<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var max = double.NegativeInfinity;
            var sum = 0.0;
            foreach (var value in row)
            {
                var x = double.CreateTruncating(value);
                if (x > max)
                {
                    sum = sum * Math.Exp(max - x) + 1;
                    max = x;
                }
                else sum += Math.Exp(x - max);
            }
            return max + Math.Log(sum);
        }
    }

    /// <summary>The lengths, and every label below the vocabulary (a negative one marks an ignored row); returns the row count.</summary>
    internal static int CheckShapes(int logitsLength, int logSumExpLength, ReadOnlySpan<int> labels, int vocab)
    {
        var rows = CheckLengths(logitsLength, logSumExpLength, labels.Length, vocab);
        foreach (var label in labels)
            if (label >= vocab) throw new ArgumentOutOfRangeException(nameof(labels), $"label {label} outside a vocabulary of {vocab}");
        return rows;
    }

    private static int CheckLengths(int logitsLength, int logSumExpLength, int labelsLength, int vocab)
    {
        var rows = ShapeCheck.Rows(logitsLength, vocab, "logits");
        ShapeCheck.Length(labelsLength, rows, "labels");
        ShapeCheck.Length(logSumExpLength, rows, "logSumExp");
        return rows;
    }

    /// <summary>
    /// The device kernels, one group per row. Each thread keeps an online softmax in float32 over the logits it strides
    /// through; the group merges them (<see cref="LossReduction.AllReduce{T}"/>). Labels are not checked against the
    /// vocabulary here (that would read them back to the host): the host built them, and the reference checks them.
    /// </summary>
    public static class Ilgpu
    {
        /// <summary>The float32 kernels (the chunked output loss's float32 logits scratch uses
        /// <see cref="Launcher{TWord, TStored}.BackwardColumns"/>).</summary>
        public sealed class Launcher(Accelerator accelerator) : Launcher<float, Float32Words>(accelerator);

        public class Launcher<TWord, TStored>(Accelerator accelerator)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<KernelConfig, Floats, Floats, ArrayView<TWord>, Ints, int> _forward =
                accelerator.LoadStreamKernel<Floats, Floats, ArrayView<TWord>, Ints, int>(ForwardKernel<TWord, TStored>);

            private readonly Action<KernelConfig, ArrayView<TWord>, ArrayView<TWord>, Floats, Ints, Floats, int, int> _backward =
                accelerator.LoadStreamKernel<ArrayView<TWord>, ArrayView<TWord>, Floats, Ints, Floats, int, int>(BackwardKernel<TWord, TStored>);

            /// <inheritdoc cref="Reference.Forward{T}"/>
            public void Forward(Floats logProb, Floats logSumExp, ArrayView<TWord> logits, Ints labels, int vocab)
            {
                var rows = CheckLengths((int)logits.Length, (int)logSumExp.Length, (int)labels.Length, vocab);
                ShapeCheck.Length((int)logProb.Length, rows, nameof(logProb));
                if (rows > 0) _forward(new KernelConfig(rows, LossReduction.RowGroupSize(accelerator, vocab)), logProb, logSumExp, logits, labels, vocab);
            }

            /// <inheritdoc cref="Reference.Backward{T}"/>
            public void Backward(ArrayView<TWord> logitsGrad, ArrayView<TWord> logits, Floats logSumExp, Ints labels, Floats logProbGrad, int vocab)
            {
                var rows = CheckLengths((int)logits.Length, (int)logSumExp.Length, (int)labels.Length, vocab);
                ShapeCheck.Length((int)logitsGrad.Length, (int)logits.Length, nameof(logitsGrad));
                ShapeCheck.Length((int)logProbGrad.Length, rows, nameof(logProbGrad));
                BackwardColumns(logitsGrad, logits, logSumExp, labels, logProbGrad, vocab, firstColumn: 0);
            }

            /// <summary>
            /// The backward over the vocabulary's columns [firstColumn, firstColumn + width) only, logits [rows, width]: a row's
            /// one-hot lands here only when its label does. The chunked output loss writes each chunk's gradient with it.
            /// </summary>
            internal void BackwardColumns(ArrayView<TWord> logitsGrad, ArrayView<TWord> logits, Floats logSumExp, Ints labels, Floats logProbGrad, int width,
                int firstColumn)
            {
                if (labels.Length > 0)
                    _backward(new KernelConfig((int)labels.Length, LossReduction.RowGroupSize(accelerator, width)), logitsGrad, logits, logSumExp, labels,
                        logProbGrad, width, firstColumn);
            }
        }

        /// <summary>The whole group skips an ignored row together, so no thread waits at a barrier the others never reach.</summary>
        private static void ForwardKernel<TWord, TStored>(Floats logProb, Floats logSumExp, ArrayView<TWord> logits, Ints labels, int vocab)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var row = Grid.IdxX;
            var label = labels[row];
            if (label < 0)
            {
                if (Group.IsFirstThread) logProb[row] = logSumExp[row] = 0;
                return;
            }
            var start = (long)row * vocab;
            var softmax = OnlineSoftmax.Empty;
            for (var j = Group.IdxX; j < vocab; j += Group.DimX) softmax.Add(stored.Load(logits, start + j));
            var total = LossReduction.AllReduce(softmax);
            if (Group.IsFirstThread)
            {
                logSumExp[row] = total.LogSumExp;
                logProb[row] = total.LogSoftmax(stored.Load(logits, start + label));
            }
        }

        /// <summary>Each thread reads an element just before it replaces it, so logitsGrad may be the logits.</summary>
        private static void BackwardKernel<TWord, TStored>(ArrayView<TWord> logitsGrad, ArrayView<TWord> logits, Floats logSumExp, Ints labels,
            Floats logProbGrad,
            int width, int firstColumn)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var row = Grid.IdxX;
            var start = (long)row * width;
            var label = labels[row];
            var hotColumn = label - firstColumn;
            var (lse, g) = (logSumExp[row], logProbGrad[row]);
            for (var j = Group.IdxX; j < width; j += Group.DimX)
                stored.Store(logitsGrad, start + j, label < 0 ? 0 : LogitGradient(stored.Load(logits, start + j), lse, g, j == hotColumn));
        }

        /// <summary>∂(g·log softmax(x)[label])/∂x_j = g·(onehot_j − exp(x_j − lse)), in float32.</summary>
        internal static float LogitGradient(float logit, float logSumExp, float logProbGrad, bool hot) =>
            logProbGrad * ((hot ? 1f : 0f) - XMath.Exp(logit - logSumExp));
    }
}
