using System.Numerics;
using System.Numerics.Tensors;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// The row kernels of the softmax-based ops in float32 vectors with a vectorised exponential (within 3 ulps); sums of
/// exponentials are kept in float64 lanes, as long as a vocabulary row is.
/// </summary>
internal static class SoftmaxRows
{
    /// <summary>The row's maximum and Σ exp(x − max): the two halves of its log-sum-exp, which the chunked loss merges across chunks.</summary>
    public static (float Max, double SumExp) MaxAndSumExp(ReadOnlySpan<float> row)
    {
        var max = TensorPrimitives.Max(row);
        var shift = new Vector<float>(max);
        Vector<double> low = default, high = default;
        for (var i = 0; i < row.Length; i += Vectors.Width)
        {
            Vector.Widen(Vector.Exp(Vectors.Load(row, i, float.NegativeInfinity) - shift), out var low1, out var high1);
            low += low1;
            high += high1;
        }
        return (max, Vector.Sum(low + high));
    }

    public static double LogSumExp(ReadOnlySpan<float> row)
    {
        var (max, sumExp) = MaxAndSumExp(row);
        return max + Math.Log(sumExp);
    }

    /// <summary>
    /// gradRow[j] = g·(onehot(hotColumn)_j − exp(row_j − logSumExp)); hotColumn may lie outside the row (a vocabulary chunk
    /// without the label). gradRow may be the row itself: every element is read before it is written.
    /// </summary>
    public static void Gradient(Span<float> gradRow, ReadOnlySpan<float> row, float logSumExp, float g, int hotColumn)
    {
        var hot = (uint)hotColumn < (uint)row.Length;
        var hotLogit = hot ? row[hotColumn] : 0;
        var (shift, scale) = (new Vector<float>(logSumExp), new Vector<float>(-g));
        for (var i = 0; i < row.Length; i += Vectors.Width) Vectors.Store(scale * Vector.Exp(Vectors.Load(row, i) - shift), gradRow, i);
        if (hot) gradRow[hotColumn] = g * (1 - MathF.Exp(hotLogit - logSumExp));
    }
}
