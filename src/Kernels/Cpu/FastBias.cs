namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="Bias"/> on fixed ranges of rows in parallel, vectorised along the row: the forward adds the bias in float32
/// and rounds once to the storage; the backward sums each range's rows in order into its own float32 partial row
/// (<see cref="RangePartials"/>), adds the partials in range order and the total to the gradient once.
/// </summary>
internal sealed class FastBias
{
    private readonly RangePartials _partials = new();

    /// <summary>x[r, :] += bias.</summary>
    public static void Forward<TWord, TFormat>(Memory<TWord> x, ReadOnlyMemory<TWord> bias, int dim)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var rows = Bias.CheckShapes(x.Length, bias.Length, dim, nameof(x), nameof(bias));
        Partitions.For(rows, Partitions.Rows(dim), part =>
        {
            var b = bias.Span;
            for (var r = part.Start; r < part.End; r++)
            {
                var row = x.Span.Slice(r * dim, dim);
                for (var i = 0; i < dim; i += Vectors.Width) TFormat.Store(TFormat.Load(row, i) + TFormat.Load(b, i), row, i);
            }
        });
    }

    /// <summary>biasGrad += Σ_r outputGrad[r, :].</summary>
    public void Backward<TWord, TFormat>(Memory<TWord> biasGrad, ReadOnlyMemory<TWord> outputGrad, int dim)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        Bias.CheckShapes(outputGrad.Length, biasGrad.Length, dim, nameof(outputGrad), nameof(biasGrad));
        Vectors.AddInto<TWord, TFormat>(biasGrad.Span, ColumnSums<TWord, TFormat>(outputGrad, dim));
    }

    /// <summary>Σ_r rows[r, :] in float32, rows summed in order within each fixed range, the ranges in order; valid until the next call.</summary>
    public ReadOnlySpan<float> ColumnSums<TWord, TFormat>(ReadOnlyMemory<TWord> rows, int dim)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var count = ShapeCheck.Rows(rows.Length, dim, nameof(rows));
        var grain = Partitions.Rows(dim);
        var ranges = Math.Max(1, Partitions.Count(count, grain)); // no rows: one zero row
        var sums = _partials.Begin(ranges, dim);
        Partitions.For(count, grain, part =>
        {
            var partial = sums.AsSpan(part.Index * dim, dim);
            for (var r = part.Start; r < part.End; r++)
            {
                var row = rows.Span.Slice(r * dim, dim);
                for (var i = 0; i < dim; i += Vectors.Width) Vectors.Store(Vectors.Load(partial, i) + TFormat.Load(row, i), partial, i);
            }
        });
        return _partials.Total(ranges, dim);
    }
}
