using System.Numerics;

namespace SimNpo.Kernels;

/// <summary>
/// The whole log-softmax of each row: a frozen reference model's next-token distributions, kept as the targets of the
/// KL retain term. Written over the logits in place when output is the logits view.
/// </summary>
public static class LogSoftmax
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to. Rows run in parallel.</summary>
    public static class Reference
    {
        /// <summary>output[r, v] = logits[r, v] − logsumexp(logits[r, :]), the log-sum-exp in float64 and taken before any write.</summary>
        public static void Forward<T>(Memory<T> output, ReadOnlyMemory<T> logits, int vocab) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = ShapeCheck.Rows(logits.Length, vocab, nameof(logits));
            ShapeCheck.Length(output.Length, logits.Length, nameof(output));
            Parallel.For(0, rows, r =>
            {
                var row = logits.Span.Slice(r * vocab, vocab);
                var outputRow = output.Span.Slice(r * vocab, vocab);
                var lse = LogSoftmaxAtLabels.Reference.LogSumExp(row);
                for (var v = 0; v < vocab; v++) outputRow[v] = T.CreateTruncating(double.CreateTruncating(row[v]) - lse);
            });
        }
    }
}
