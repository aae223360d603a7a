using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="KlDivergence"/> on fixed ranges of rows in parallel. The forward's terms exp(t)·(t − x + lse) are formed and
/// summed in float64 lanes: t − x + lse nearly cancels when the distributions agree, which is the KL retain term's aim.
/// Logits, targets and the logits' gradient in the bulk storage; the KL values, log-sum-exps and row weights float32.
/// </summary>
internal static class FastKlDivergence
{
    /// <summary>kl[r] = Σ_v exp(t_v)·(t_v − (logits_v − logSumExp[r])), the log-sum-exp kept; a target probability of 0 adds nothing.</summary>
    public static void Forward<TWord, TFormat>(Memory<float> kl, Memory<float> logSumExp, ReadOnlyMemory<TWord> logits, ReadOnlyMemory<TWord> targetLogProbs,
        int vocab)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var rows = KlDivergence.CheckShapes(logits.Length, targetLogProbs.Length, logSumExp.Length, vocab);
        ShapeCheck.Length(kl.Length, rows, nameof(kl));
        Partitions.ForRows(rows, vocab, r =>
        {
            var row = logits.Span.Slice(r * vocab, vocab);
            var target = targetLogProbs.Span.Slice(r * vocab, vocab);
            var lse = SoftmaxRows.LogSumExp<TWord, TFormat>(row);
            var shift = new Vector<double>(lse);
            Vector<double> sum = default;
            for (var i = 0; i < vocab; i += Vectors.Width)
            {
                var t = TFormat.Load(target, i, float.NegativeInfinity);
                Vector.Widen(t, out var t0, out var t1);
                Vector.Widen(TFormat.Load(row, i), out var x0, out var x1);
                Vector.Widen(Vector.Exp(t), out var p0, out var p1);
                // 0·(−∞ − x) is NaN: a zero probability is selected away instead.
                sum += Vector.ConditionalSelect(Vector.GreaterThan(p0, Vector<double>.Zero), p0 * (t0 - x0 + shift), Vector<double>.Zero);
                sum += Vector.ConditionalSelect(Vector.GreaterThan(p1, Vector<double>.Zero), p1 * (t1 - x1 + shift), Vector<double>.Zero);
            }
            logSumExp.Span[r] = (float)lse;
            kl.Span[r] = (float)Vector.Sum(sum);
        });
    }

    /// <summary>logitsGrad[r, v] = rowWeight[r]·(softmax_v − exp(t_v)), overwriting: logitsGrad may be the logits.</summary>
    public static void Backward<TWord, TFormat>(Memory<TWord> logitsGrad, ReadOnlyMemory<TWord> logits, ReadOnlyMemory<float> logSumExp,
        ReadOnlyMemory<TWord> targetLogProbs, ReadOnlyMemory<float> rowWeight, int vocab)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var rows = KlDivergence.CheckShapes(logits.Length, targetLogProbs.Length, logSumExp.Length, vocab);
        ShapeCheck.Length(logitsGrad.Length, logits.Length, nameof(logitsGrad));
        ShapeCheck.Length(rowWeight.Length, rows, nameof(rowWeight));
        Partitions.ForRows(rows, vocab, r =>
        {
            var row = logits.Span.Slice(r * vocab, vocab);
            var target = targetLogProbs.Span.Slice(r * vocab, vocab);
            var gradRow = logitsGrad.Span.Slice(r * vocab, vocab);
            var lse = new Vector<float>(logSumExp.Span[r]);
            var weight = rowWeight.Span[r];
            for (var i = 0; i < vocab; i += Vectors.Width)
                TFormat.Store(weight * (Vector.Exp(TFormat.Load(row, i) - lse) - Vector.Exp(TFormat.Load(target, i))), gradRow, i);
        });
    }
}
