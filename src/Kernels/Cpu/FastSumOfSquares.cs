namespace SimNpo.Kernels.Cpu;

/// <summary>
/// Σ x² in float64 (as <see cref="SumOfSquares.Reference"/>): fixed ranges summed in parallel, each in float64 vector
/// lanes, then the ranges' partials added in range order, so the result does not depend on the thread count.
/// </summary>
internal sealed class FastSumOfSquares
{
    /// <summary>One partial per range, kept between calls: a gradient's norm is taken every step.</summary>
    private double[] _partials = [];

    public double Compute<TWord, TFormat>(ReadOnlyMemory<TWord> x) where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var ranges = Partitions.Count(x.Length, Partitions.Elements);
        if (_partials.Length < ranges) _partials = new double[ranges];
        var sums = _partials;
        Partitions.For(x.Length, Partitions.Elements, part =>
        {
            var range = part.Of(x);
            sums[part.Index] = Vectors.Dot<TWord, TFormat>(range, range);
        });
        var total = 0.0;
        for (var p = 0; p < ranges; p++) total += sums[p];
        return total;
    }
}
