namespace SimNpo.Unlearn.Performance;

/// <summary>The median of a figure's rounds and the range they span: the median resists a round hit by other work.</summary>
public sealed record Spread(double Median, double Min, double Max)
{
    public static Spread Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("a spread needs at least one value");
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        return new Spread(median, sorted[0], sorted[^1]);
    }

    /// <summary>
    /// The spread of round-by-round ratios a[r] / b[r]: rounds alternate between the two sides, so a slow spell of the
    /// machine lowers both figures of its round and cancels in their ratio.
    /// </summary>
    public static Spread OfRatios(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"ratios need as many rounds on both sides, got {a.Count} and {b.Count}");
        return Of(a.Zip(b, (x, y) => x / y).ToArray());
    }
}
