using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="RmsNorm"/> on fixed ranges of rows in parallel, vectorised along the row. The row sums (the mean of squares,
/// the backward's Σ g·w·x) are taken in float64 lanes like the reference's; the weight gradient, a sum over every row,
/// is summed per range in float32 into that range's own partial row and added once (<see cref="RangePartials"/>), so the
/// result does not depend on the schedule. The inverse RMS is a statistic: float32 whatever the bulk storage.
/// </summary>
internal sealed class FastRmsNorm
{
    /// <summary>The weight gradient's partial rows, one per range of rows, kept between calls.</summary>
    private readonly RangePartials _partials = new();

    public static void Forward<TWord, TFormat>(Memory<TWord> output, Memory<float> invRms, ReadOnlyMemory<TWord> input, ReadOnlyMemory<TWord> weight, int dim,
        float eps, float weightOffset)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var rows = RmsNorm.CheckForwardShapes(output.Length, invRms.Length, input.Length, weight.Length, dim);
        var offset = new Vector<float>(weightOffset);
        Partitions.For(rows, Partitions.Rows(dim), part =>
        {
            var w = weight.Span;
            for (var r = part.Start; r < part.End; r++)
            {
                var x = input.Span.Slice(r * dim, dim);
                var y = output.Span.Slice(r * dim, dim);
                var s = (float)(1 / Math.Sqrt(Vectors.Dot<TWord, TFormat>(x, x) / dim + eps));
                // Normalise, then apply the gain, in this order as Hugging Face's LlamaRMSNorm does.
                for (var i = 0; i < dim; i += Vectors.Width) TFormat.Store(TFormat.Load(x, i) * s * (offset + TFormat.Load(w, i)), y, i);
                invRms.Span[r] = s;
            }
        });
    }

    /// <summary>
    /// inputGrad[r, j] += s·w_j·g_j − s³/dim · x_j · Σ_i g_i w_i x_i with w the gain o + weight; weightGrad[j] += Σ_r g_rj · x_rj · s_r.
    /// </summary>
    public void Backward<TWord, TFormat>(Memory<TWord> inputGrad, Memory<TWord> weightGrad, ReadOnlyMemory<TWord> outputGrad, ReadOnlyMemory<TWord> input,
        ReadOnlyMemory<TWord> weight, ReadOnlyMemory<float> invRms, int dim, float weightOffset)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var rows = RmsNorm.CheckBackwardShapes(inputGrad.Length, weightGrad.Length, outputGrad.Length, input.Length, weight.Length, invRms.Length, dim);
        var grain = Partitions.Rows(dim);
        var ranges = Math.Max(1, Partitions.Count(rows, grain)); // no rows: one zero row
        var sums = _partials.Begin(ranges, dim);
        var offset = new Vector<float>(weightOffset);
        Partitions.For(rows, grain, part =>
        {
            var w = weight.Span;
            var partial = sums.AsSpan(part.Index * dim, dim);
            for (var r = part.Start; r < part.End; r++)
            {
                var x = input.Span.Slice(r * dim, dim);
                var g = outputGrad.Span.Slice(r * dim, dim);
                var dx = inputGrad.Span.Slice(r * dim, dim);
                var s = invRms.Span[r];
                var correction = (float)((double)s * s * s / dim * Vectors.Dot<TWord, TFormat>(g, x, w, weightOffset));
                for (var i = 0; i < dim; i += Vectors.Width)
                {
                    var (xi, gi) = (TFormat.Load(x, i), TFormat.Load(g, i));
                    TFormat.Store(TFormat.Load(dx, i) + (s * (offset + TFormat.Load(w, i)) * gi - correction * xi), dx, i);
                    Vectors.Store(Vectors.Load(partial, i) + gi * xi * s, partial, i);
                }
            }
        });
        Vectors.AddInto<TWord, TFormat>(weightGrad.Span, _partials.Total(ranges, dim));
    }
}
