using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="LayerNorm"/> on fixed ranges of rows in parallel, vectorised along the row. The row sums (the mean, the
/// centred squares, the backward's Σ ĝ and Σ ĝ·x̂) are taken in float64 lanes like the reference's, the variance in two
/// passes as there; the elementwise work is float32. The weight and bias gradients, sums over every row, are summed per
/// range in float32 into the range's partial row [Σ g·x̂ | Σ g] (<see cref="RangePartials"/>), and the totals added to the
/// gradients once. Mean and 1/std are statistics: float32 whatever the bulk storage.
/// </summary>
internal sealed class FastLayerNorm
{
    private readonly RangePartials _partials = new();

    public static void Forward<TWord, TFormat>(Memory<TWord> output, Memory<float> mean, Memory<float> invStd, ReadOnlyMemory<TWord> input,
        ReadOnlyMemory<TWord> weight, ReadOnlyMemory<TWord> bias, int dim, float eps)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var rows = LayerNorm.CheckForwardShapes(output.Length, mean.Length, invStd.Length, input.Length, weight.Length, bias.Length, dim);
        Partitions.For(rows, Partitions.Rows(dim), part =>
        {
            var w = weight.Span;
            var b = bias.Span;
            for (var r = part.Start; r < part.End; r++)
            {
                var x = input.Span.Slice(r * dim, dim);
                var y = output.Span.Slice(r * dim, dim);
                var (mu, s) = Statistics<TWord, TFormat>(x, eps);
                var centre = new Vector<float>(mu);
                for (var i = 0; i < dim; i += Vectors.Width) TFormat.Store((TFormat.Load(x, i) - centre) * s * TFormat.Load(w, i) + TFormat.Load(b, i), y, i);
                (mean.Span[r], invStd.Span[r]) = (mu, s);
            }
        });
    }

    /// <summary>
    /// The row's mean and 1/sqrt(var + eps), rounded to float32: Σ x, then Σ (x − μ)² of the float32 differences, each
    /// sum in float64 lanes (the lanes past the row's end read as μ, so they add nothing).
    /// </summary>
    private static (float Mean, float InvStd) Statistics<TWord, TFormat>(ReadOnlySpan<TWord> x, float eps)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        Vector<double> low = default, high = default;
        for (var i = 0; i < x.Length; i += Vectors.Width)
        {
            Vector.Widen(TFormat.Load(x, i), out var x0, out var x1);
            (low, high) = (low + x0, high + x1);
        }
        var mean = (float)(Vector.Sum(low + high) / x.Length);
        var centre = new Vector<float>(mean);
        (low, high) = (default, default);
        for (var i = 0; i < x.Length; i += Vectors.Width)
        {
            Vector.Widen(TFormat.Load(x, i, mean) - centre, out var d0, out var d1);
            (low, high) = (low + d0 * d0, high + d1 * d1);
        }
        return (mean, (float)(1 / Math.Sqrt(Vector.Sum(low + high) / x.Length + eps)));
    }

    /// <summary>
    /// With x̂ = (x − μ)·s and ĝ = g·w: inputGrad[r, j] += s·(ĝ_j − mean(ĝ) − x̂_j·mean(ĝ·x̂)); weightGrad[j] += Σ_r g_rj·x̂_rj;
    /// biasGrad[j] += Σ_r g_rj.
    /// </summary>
    public void Backward<TWord, TFormat>(Memory<TWord> inputGrad, Memory<TWord> weightGrad, Memory<TWord> biasGrad, ReadOnlyMemory<TWord> outputGrad,
        ReadOnlyMemory<TWord> input, ReadOnlyMemory<TWord> weight, ReadOnlyMemory<float> mean, ReadOnlyMemory<float> invStd, int dim)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var rows = LayerNorm.CheckBackwardShapes(inputGrad.Length, weightGrad.Length, biasGrad.Length, outputGrad.Length, input.Length, weight.Length,
            mean.Length, invStd.Length, dim);
        var grain = Partitions.Rows(dim);
        var ranges = Math.Max(1, Partitions.Count(rows, grain)); // no rows: one zero row
        var sums = _partials.Begin(ranges, 2 * dim);
        Partitions.For(rows, grain, part =>
        {
            var w = weight.Span;
            var weightPartial = sums.AsSpan(part.Index * 2 * dim, dim);
            var biasPartial = sums.AsSpan(part.Index * 2 * dim + dim, dim);
            for (var r = part.Start; r < part.End; r++)
            {
                var x = input.Span.Slice(r * dim, dim);
                var g = outputGrad.Span.Slice(r * dim, dim);
                var dx = inputGrad.Span.Slice(r * dim, dim);
                var (centre, s) = (new Vector<float>(mean.Span[r]), invStd.Span[r]);
                var (gradMean, dotMean) = RowMeans<TWord, TFormat>(g, x, w, centre, s);
                for (var i = 0; i < dim; i += Vectors.Width)
                {
                    var gi = TFormat.Load(g, i);
                    var normalised = (TFormat.Load(x, i) - centre) * s;
                    TFormat.Store(TFormat.Load(dx, i) + s * (gi * TFormat.Load(w, i) - gradMean - normalised * dotMean), dx, i);
                    Vectors.Store(Vectors.Load(weightPartial, i) + gi * normalised, weightPartial, i);
                    Vectors.Store(Vectors.Load(biasPartial, i) + gi, biasPartial, i);
                }
            }
        });
        var total = _partials.Total(ranges, 2 * dim);
        Vectors.AddInto<TWord, TFormat>(weightGrad.Span, total[..dim]);
        Vectors.AddInto<TWord, TFormat>(biasGrad.Span, total[dim..]);
    }

    /// <summary>mean(ĝ) and mean(ĝ·x̂) of one row, ĝ and x̂ in float32, the sums in float64 lanes (padding lanes: g = 0).</summary>
    private static (Vector<float> GradMean, Vector<float> DotMean) RowMeans<TWord, TFormat>(ReadOnlySpan<TWord> g, ReadOnlySpan<TWord> x,
        ReadOnlySpan<TWord> w, Vector<float> centre, float s)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        Vector<double> gradLow = default, gradHigh = default, dotLow = default, dotHigh = default;
        for (var i = 0; i < g.Length; i += Vectors.Width)
        {
            var gw = TFormat.Load(g, i) * TFormat.Load(w, i);
            Vector.Widen(gw, out var g0, out var g1);
            Vector.Widen((TFormat.Load(x, i) - centre) * s, out var x0, out var x1);
            (gradLow, gradHigh) = (gradLow + g0, gradHigh + g1);
            (dotLow, dotHigh) = (dotLow + g0 * x0, dotHigh + g1 * x1);
        }
        return (new Vector<float>((float)(Vector.Sum(gradLow + gradHigh) / g.Length)), new Vector<float>((float)(Vector.Sum(dotLow + dotHigh) / g.Length)));
    }
}
