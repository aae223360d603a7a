namespace SimNpo.Kernels.Cpu;

/// <summary>
/// Sums over the rows of a tensor split into <see cref="Partitions"/>' fixed ranges and run in parallel (a parameter's
/// gradient, a sum over every token): each range sums in float32 into its own partial row, and <see cref="Total"/> adds
/// the partial rows in range order, so no element has two writers and the result does not depend on the schedule. The
/// caller adds the total to the stored gradient once (<see cref="Vectors.AddInto{TWord, TFormat}"/>): one rounding to its
/// storage. The partial rows are kept between calls; one caller at a time.
/// </summary>
internal sealed class RangePartials
{
    private float[] _sums = [];

    /// <summary>Zeroed partial rows of <paramref name="width"/> floats, one per range: range p's is [p·width, (p + 1)·width).</summary>
    public float[] Begin(int ranges, int width)
    {
        if (_sums.Length < ranges * width) _sums = new float[ranges * width];
        _sums.AsSpan(0, ranges * width).Clear();
        return _sums;
    }

    /// <summary>The partial rows added in range order into the first, which is returned.</summary>
    public Span<float> Total(int ranges, int width)
    {
        var total = _sums.AsSpan(0, width);
        for (var p = 1; p < ranges; p++)
        {
            var partial = _sums.AsSpan(p * width, width);
            for (var i = 0; i < width; i += Vectors.Width) Vectors.Store(Vectors.Load(total, i) + Vectors.Load(partial, i), total, i);
        }
        return total;
    }
}
