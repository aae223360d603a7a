namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// The two-sample Kolmogorov–Smirnov test as scipy.stats.ks_2samp (scipy 1.10) computes it with its defaults
/// (two-sided, method 'auto'): the exact distribution of the statistic when neither sample has more than 10000
/// values, the one-sample Kolmogorov distribution at n = m·n/(m+n) otherwise. TOFU's forget quality is this p-value.
/// </summary>
public static class KolmogorovSmirnov
{
    /// <summary>scipy's MAX_AUTO_N: above it the lattice-path count costs too much and 'auto' goes asymptotic.</summary>
    private const int MaxExactSize = 10000;

    /// <summary>The largest distance between the two empirical distribution functions.</summary>
    public static double Statistic(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var sortedA = Sorted(a, nameof(a));
        var sortedB = Sorted(b, nameof(b));
        // Both ECDFs evaluated just right of every value, as scipy's searchsorted(side='right') does; the
        // differences are the same doubles (count/n each side), so the statistic matches to the last bit.
        double largest = 0, smallest = 0;
        int i = 0, j = 0;
        while (i < sortedA.Length || j < sortedB.Length)
        {
            var x = j == sortedB.Length || i < sortedA.Length && sortedA[i] <= sortedB[j] ? sortedA[i] : sortedB[j];
            while (i < sortedA.Length && sortedA[i] == x) i++;
            while (j < sortedB.Length && sortedB[j] == x) j++;
            var difference = (double)i / sortedA.Length - (double)j / sortedB.Length;
            largest = Math.Max(largest, difference);
            smallest = Math.Min(smallest, difference);
        }
        return Math.Max(largest, -smallest);
    }

    public static double TwoSamplePValue(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var d = Statistic(a, b);
        int n1 = a.Count, n2 = b.Count;
        if (Math.Max(n1, n2) <= MaxExactSize)
        {
            var exact = ExactPValue(n1, n2, d);
            if (exact is >= 0 and <= 1) return exact;
        }
        // scipy rounds the effective size m·n/(m+n) to an integer sample size of the one-sample distribution.
        var effectiveSize = Math.Round((double)Math.Max(n1, n2) * Math.Min(n1, n2) / ((double)n1 + n2));
        return Math.Clamp(KolmogorovDistribution.SurvivalFunction((int)effectiveSize, d), 0, 1);
    }

    private static double[] Sorted(IReadOnlyList<double> sample, string name)
    {
        if (sample.Count == 0) throw new ArgumentException("the Kolmogorov–Smirnov test needs a non-empty sample", name);
        var sorted = sample.ToArray();
        if (Array.Exists(sorted, double.IsNaN)) throw new ArgumentException("the sample holds NaN", name);
        Array.Sort(sorted);
        return sorted;
    }

    /// <summary>
    /// P(D ≥ d) under the null hypothesis. The statistic is a multiple h of 1/lcm(n1, n2), and the probability is the
    /// share of the C(n1+n2, n1) lattice paths that leave the band |x/n1 − y/n2| &lt; h/lcm.
    /// </summary>
    private static double ExactPValue(int n1, int n2, double d)
    {
        var gcd = (int)System.Numerics.BigInteger.GreatestCommonDivisor(n1, n2);
        var lcm = (long)(n1 / gcd) * n2;
        var h = (long)Math.Round(d * lcm);
        if (h == 0) return 1.0;
        return n1 == n2 ? ProbabilityOutsideSquare(n1, h) : ProbabilityOutsideBand(n1, n2, gcd, h);
    }

    /// <summary>
    /// Equal sizes: 2·Σk (−1)^(k+1) C(2n, n−kh)/C(2n, n), evaluated as scipy does, in Horner form
    /// 2·A1(1 − A2(1 − A3(…))) with each ratio Ak a product of h factors, which avoids the alternating sum's cancellation.
    /// </summary>
    private static double ProbabilityOutsideSquare(long n, long h)
    {
        var p = 0.0;
        for (var k = (long)Math.Floor((double)n / h); k >= 0; k--)
        {
            var ratio = 1.0;
            for (long j = 0; j < h; j++) ratio = (n - k * h - j) * ratio / (n + k * h + j + 1);
            p = ratio * (1.0 - p);
        }
        return 2 * p;
    }

    /// <summary>
    /// Unequal sizes: Hodges' inside method, with Viehmann's recursion (arXiv:2102.08037) that carries the share of
    /// paths already outside, column by column, over a sliding window of the band; scipy's _compute_outer_prob_inside_method.
    /// </summary>
    private static double ProbabilityOutsideBand(int n1, int n2, int gcd, long h)
    {
        // Symmetric in the sizes; the recursion walks the columns of the longer side.
        int m = Math.Max(n1, n2), n = Math.Min(n1, n2);
        long mg = m / gcd, ng = n / gcd;
        int minJ = 0, maxJ = (int)Math.Min(Math.Ceiling((double)h / mg), n + 1);
        var currentLength = maxJ - minJ;
        var column = new double[Math.Min(2 * maxJ + 2, n + 1)];
        Array.Fill(column, 1.0);
        column.AsSpan(minJ, maxJ - minJ).Clear();
        for (var i = 1; i <= m; i++)
        {
            int lastMinJ = minJ, lastLength = currentLength;
            minJ = (int)Math.Min(Math.Max(Math.Floor((double)(ng * i - h) / mg) + 1, 0), n);
            maxJ = (int)Math.Min(Math.Ceiling((double)(ng * i + h) / mg), n + 1);
            if (maxJ <= minJ) return 1.0;
            var value = minJ == 0 ? 0.0 : 1.0;
            for (var jj = 0; jj < maxJ - minJ; jj++)
            {
                var j = jj + minJ;
                value = (column[jj + minJ - lastMinJ] * i + value * j) / (i + j);
                column[jj] = value;
            }
            currentLength = maxJ - minJ;
            // Cells that slid out of the band above are outside: their share is 1.
            if (lastLength > currentLength)
            {
                var start = maxJ - minJ;
                column.AsSpan(start, Math.Min(lastLength - currentLength, column.Length - start)).Fill(1.0);
            }
        }
        return column[maxJ - minJ - 1];
    }
}
