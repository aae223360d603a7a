namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="LogSoftmaxAtLabels"/> on fixed ranges of rows in parallel, each row through <see cref="SoftmaxRows"/>: logits and
/// their gradient in the bulk storage, the log-probs and log-sum-exps float32.
/// </summary>
internal static class FastLogSoftmaxAtLabels
{
    /// <summary>logProb[r] = logits[r, labels[r]] − logSumExp[r], the log-sum-exp kept; both 0 for rows with a negative label.</summary>
    public static void Forward<TWord, TFormat>(Memory<float> logProb, Memory<float> logSumExp, ReadOnlyMemory<TWord> logits, ReadOnlyMemory<int> labels,
        int vocab)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var rows = LogSoftmaxAtLabels.CheckShapes(logits.Length, logSumExp.Length, labels.Span, vocab);
        ShapeCheck.Length(logProb.Length, rows, nameof(logProb));
        Partitions.ForRows(rows, vocab, r =>
        {
            var label = labels.Span[r];
            if (label < 0)
            {
                logProb.Span[r] = logSumExp.Span[r] = 0;
                return;
            }
            var row = logits.Span.Slice(r * vocab, vocab);
            var lse = SoftmaxRows.LogSumExp<TWord, TFormat>(row);
            logSumExp.Span[r] = (float)lse;
            logProb.Span[r] = (float)(TFormat.Widen(row[label]) - lse);
        });
    }

    /// <summary>logitsGrad[r, :] = logProbGrad[r]·(onehot − softmax), overwriting (logitsGrad may be the logits); 0 for ignored rows.</summary>
    public static void Backward<TWord, TFormat>(Memory<TWord> logitsGrad, ReadOnlyMemory<TWord> logits, ReadOnlyMemory<float> logSumExp,
        ReadOnlyMemory<int> labels,
        ReadOnlyMemory<float> logProbGrad, int vocab)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var rows = LogSoftmaxAtLabels.CheckShapes(logits.Length, logSumExp.Length, labels.Span, vocab);
        ShapeCheck.Length(logitsGrad.Length, logits.Length, nameof(logitsGrad));
        ShapeCheck.Length(logProbGrad.Length, rows, nameof(logProbGrad));
        Partitions.ForRows(rows, vocab, r =>
        {
            var gradRow = logitsGrad.Span.Slice(r * vocab, vocab);
            var label = labels.Span[r];
            if (label < 0) gradRow.Clear();
            else SoftmaxRows.Gradient<TWord, TFormat>(gradRow, logits.Span.Slice(r * vocab, vocab), logSumExp.Span[r], logProbGrad.Span[r], label);
        });
    }
}
