using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// The row kernels of the softmax-based ops in float32 vectors with a vectorised exponential (within 3 ulps); sums of
/// exponentials are kept in float64 lanes, as long as a vocabulary row is. Rows are float32 or bfloat16 (widened on
/// load, gradients rounded once on store).
/// </summary>
internal static class SoftmaxRows
{
    /// <summary>The row's maximum and Σ exp(x − max): the two halves of its log-sum-exp, which the chunked loss merges across chunks.</summary>
    public static (float Max, double SumExp) MaxAndSumExp<TWord, TFormat>(ReadOnlySpan<TWord> row) where TWord : unmanaged
        where TFormat : struct, IStorageFormat<TWord>
    {
        var max = TFormat.Max(row);
        var shift = new Vector<float>(max);
        Vector<double> low = default, high = default;
        for (var i = 0; i < row.Length; i += Vectors.Width)
        {
            Vector.Widen(Vector.Exp(TFormat.Load(row, i, float.NegativeInfinity) - shift), out var low1, out var high1);
            low += low1;
            high += high1;
        }
        return (max, Vector.Sum(low + high));
    }

    public static double LogSumExp<TWord, TFormat>(ReadOnlySpan<TWord> row) where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var (max, sumExp) = MaxAndSumExp<TWord, TFormat>(row);
        return max + Math.Log(sumExp);
    }

    /// <summary>
    /// gradRow[j] = g·(onehot(hotColumn)_j − exp(row_j − logSumExp)); hotColumn may lie outside the row (a vocabulary chunk
    /// without the label). gradRow may be the row itself: every element is read before it is written.
    /// </summary>
    public static void Gradient<TWord, TFormat>(Span<TWord> gradRow, ReadOnlySpan<TWord> row, float logSumExp, float g, int hotColumn) where TWord : unmanaged
        where TFormat : struct, IStorageFormat<TWord>
    {
        var hot = (uint)hotColumn < (uint)row.Length;
        var hotLogit = hot ? TFormat.Widen(row[hotColumn]) : 0;
        var (shift, scale) = (new Vector<float>(logSumExp), new Vector<float>(-g));
        for (var i = 0; i < row.Length; i += Vectors.Width) TFormat.Store(scale * Vector.Exp(TFormat.Load(row, i) - shift), gradRow, i);
        if (hot) gradRow[hotColumn] = TFormat.Round(g * (1 - MathF.Exp(hotLogit - logSumExp)));
    }
}
