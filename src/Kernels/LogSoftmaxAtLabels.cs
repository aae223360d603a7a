using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>
/// The fused classifier of llm.c: the log-probability of each row's label under the softmax of its logits, and a backward
/// that writes the logits' gradient over the logits, so the [rows, vocab] softmax is never stored. Rows whose label is
/// negative (prompt and padding tokens) give 0 and get a zero gradient.
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
                var row = logits.Span.Slice(r * vocab, vocab);
                var lse = double.CreateTruncating(logSumExp.Span[r]);
                var g = double.CreateTruncating(logProbGrad.Span[r]);
                for (var j = 0; j < vocab; j++)
                {
                    var probability = Math.Exp(double.CreateTruncating(row[j]) - lse);
                    gradRow[j] = T.CreateTruncating(g * ((j == label ? 1 : 0) - probability));
                }
            });
        }

        /// <summary>One pass in float64: a running maximum, and the sum of exponentials rescaled whenever the maximum grows.</summary>
        private static double LogSumExp<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
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

        private static int CheckShapes(int logitsLength, int logSumExpLength, ReadOnlySpan<int> labels, int vocab)
        {
            var rows = ShapeCheck.Rows(logitsLength, vocab, "logits");
            ShapeCheck.Length(labels.Length, rows, nameof(labels));
            ShapeCheck.Length(logSumExpLength, rows, "logSumExp");
            foreach (var label in labels)
                if (label >= vocab) throw new ArgumentOutOfRangeException(nameof(labels), $"label {label} outside a vocabulary of {vocab}");
            return rows;
        }
    }
}
