using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="LogSoftmax"/> on fixed ranges of rows in parallel, the row's maximum and sum of exponentials through
/// <see cref="SoftmaxRows"/> taken before any write. Each value is (x − max) − log(sum): both parts are no larger than the
/// result, so the logits' offset does not enter its rounding as it would through a float32 log-sum-exp.
/// </summary>
internal static class FastLogSoftmax
{
    /// <summary>output[r, v] = logits[r, v] − logsumexp(logits[r, :]); output may be the logits.</summary>
    public static void Forward<TWord, TFormat>(Memory<TWord> output, ReadOnlyMemory<TWord> logits, int vocab) where TWord : unmanaged
        where TFormat : struct, IStorageFormat<TWord>
    {
        var rows = ShapeCheck.Rows(logits.Length, vocab, nameof(logits));
        ShapeCheck.Length(output.Length, logits.Length, nameof(output));
        Partitions.ForRows(rows, vocab, r =>
        {
            var row = logits.Span.Slice(r * vocab, vocab);
            var outputRow = output.Span.Slice(r * vocab, vocab);
            var (max, sumExp) = SoftmaxRows.MaxAndSumExp<TWord, TFormat>(row);
            var (shift, logSum) = (new Vector<float>(max), new Vector<float>((float)Math.Log(sumExp)));
            for (var i = 0; i < vocab; i += Vectors.Width) TFormat.Store(TFormat.Load(row, i) - shift - logSum, outputRow, i);
        });
    }
}
