using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>
/// KL(target ‖ softmax(logits)) per row, the retain term that keeps a model's next-token distributions near a frozen
/// reference's. The target comes as log-probabilities (the reference's log-softmax); like the fused classifier, the
/// backward writes the logits' gradient over the logits and the model's softmax is never stored.
/// </summary>
public static class KlDivergence
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to. Rows run in parallel.</summary>
    public static class Reference
    {
        /// <summary>
        /// kl[r] = Σ_v exp(t_v)·(t_v − (logits_v − logSumExp[r])) in float64, with the log-sum-exp kept for the backward.
        /// A target probability of 0 adds nothing (0·log 0 = 0), even for t = −∞.
        /// </summary>
        public static void Forward<T>(Memory<T> kl, Memory<T> logSumExp, ReadOnlyMemory<T> logits, ReadOnlyMemory<T> targetLogProbs, int vocab)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckShapes(logits.Length, targetLogProbs.Length, logSumExp.Length, vocab);
            ShapeCheck.Length(kl.Length, rows, nameof(kl));
            Parallel.For(0, rows, r =>
            {
                var row = logits.Span.Slice(r * vocab, vocab);
                var target = targetLogProbs.Span.Slice(r * vocab, vocab);
                var lse = LogSoftmaxAtLabels.Reference.LogSumExp(row);
                var sum = 0.0;
                for (var v = 0; v < vocab; v++)
                {
                    var t = double.CreateTruncating(target[v]);
                    var p = Math.Exp(t);
                    if (p > 0) sum += p * (t - double.CreateTruncating(row[v]) + lse);
                }
                logSumExp.Span[r] = T.CreateTruncating(lse);
                kl.Span[r] = T.CreateTruncating(sum);
            });
        }

        /// <summary>
        /// logitsGrad[r, v] = rowWeight[r]·(softmax_v − exp(t_v)), overwriting, not adding: logitsGrad may be the logits
        /// themselves, each element being read just before it is replaced.
        /// </summary>
        public static void Backward<T>(Memory<T> logitsGrad, ReadOnlyMemory<T> logits, ReadOnlyMemory<T> logSumExp, ReadOnlyMemory<T> targetLogProbs,
            ReadOnlyMemory<T> rowWeight, int vocab)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = CheckShapes(logits.Length, targetLogProbs.Length, logSumExp.Length, vocab);
            ShapeCheck.Length(logitsGrad.Length, logits.Length, nameof(logitsGrad));
            ShapeCheck.Length(rowWeight.Length, rows, nameof(rowWeight));
            Parallel.For(0, rows, r =>
            {
                var row = logits.Span.Slice(r * vocab, vocab);
                var target = targetLogProbs.Span.Slice(r * vocab, vocab);
                var gradRow = logitsGrad.Span.Slice(r * vocab, vocab);
                var lse = double.CreateTruncating(logSumExp.Span[r]);
                var weight = double.CreateTruncating(rowWeight.Span[r]);
                for (var v = 0; v < vocab; v++)
                {
                    var probability = Math.Exp(double.CreateTruncating(row[v]) - lse);
                    gradRow[v] = T.CreateTruncating(weight * (probability - Math.Exp(double.CreateTruncating(target[v]))));
                }
            });
        }

        private static int CheckShapes(int logitsLength, int targetLength, int logSumExpLength, int vocab)
        {
            var rows = ShapeCheck.Rows(logitsLength, vocab, "logits");
            ShapeCheck.Length(targetLength, logitsLength, "targetLogProbs");
            ShapeCheck.Length(logSumExpLength, rows, "logSumExp");
            return rows;
        }
    }
}
