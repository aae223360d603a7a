namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// P(D_n ≥ x) for the two-sided one-sample Kolmogorov–Smirnov statistic D_n: scipy.stats.kstwo.sf, which ks_2samp's
/// asymptotic branch evaluates. Simard and L'Ecuyer's (2011) choice of method by n and n·x² as scipy 1.10 makes it:
/// closed forms at the ends (Ruben–Gambino), twice the one-sided Smirnov tail where the two tails cannot meet
/// (x ≥ 0.5) or barely do (large n·x²), Durbin's matrix (Marsaglia–Tsang–Wang), Pomeranz's recursion, and the
/// Pelz–Good expansion for large n.
/// </summary>
public static class KolmogorovDistribution
{
    /// <summary>Intermediate results are rescaled by 2^±128 to stay within double range.</summary>
    private const int ScaleExponent = 128;
    private static readonly double Scale = Math.ScaleB(1.0, ScaleExponent);
    private static readonly double InverseScale = Math.ScaleB(1.0, -ScaleExponent);

    public static double SurvivalFunction(int n, double x)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "the sample size must be positive");
        // The support is [1/(2n), 1].
        if (x <= 0.5 / n) return 1.0;
        if (x >= 1.0) return 0.0;
        var t = n * x;
        if (t <= 1.0)
        {
            // Ruben–Gambino: P(D_n ≤ x) = n!/n^n (2t − 1)^n for 1/(2n) ≤ x ≤ 1/n.
            double cdf;
            if (n <= 140)
            {
                cdf = 1.0;
                for (var i = 1; i <= n; i++) cdf *= i * (1.0 / n) * (2 * t - 1);
            }
            else cdf = Math.Exp(LogFactorialOverPower(n) + n * Math.Log(2 * t - 1));
            return Clip(1.0 - cdf);
        }
        if (t >= n - 1) return Clip(2 * Math.Pow(1.0 - x, n));
        if (x >= 0.5) return Clip(2 * SmirnovSurvival(n, x));

        var nxSquared = t * x;
        if (n <= 140)
        {
            if (nxSquared <= 0.754693) return Clip(1.0 - DurbinCdf(n, x));
            if (nxSquared <= 4) return Clip(1.0 - PomeranzCdf(n, x));
            return Clip(2 * SmirnovSurvival(n, x));
        }
        if (nxSquared >= 370.0) return 0.0;
        if (nxSquared >= 2.2) return Clip(2 * SmirnovSurvival(n, x));
        var largeCdf = n <= 100000 && n * Math.Pow(x, 1.5) <= 1.4 ? DurbinCdf(n, x) : PelzGoodCdf(n, x);
        return Clip(1.0 - largeCdf);
    }

    private static double Clip(double p) => Math.Clamp(p, 0.0, 1.0);

    /// <summary>log(n!/n^n) by Stirling's series with n·log n taken out up front, so nothing cancels.</summary>
    private static double LogFactorialOverPower(int n)
    {
        // B_2j/(2j(2j−1)) for j = 8 … 1.
        ReadOnlySpan<double> stirling =
        [
            -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
            -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
        ];
        var rn = 1.0 / n;
        var series = 0.0;
        foreach (var c in stirling) series = series * (rn / n) + c;
        return Math.Log(n) / 2 - n + Math.Log(2 * Math.PI) / 2 + rn * series;
    }

    /// <summary>
    /// One-sided P(D_n⁺ ≥ x) by the Birnbaum–Tingey sum x·Σ_{v ≤ n(1−x)} C(n,v)(x + v/n)^(v−1)(1 − x − v/n)^(n−v),
    /// whose terms are all positive; each is formed in logarithms, as C(n,v) overflows a double for large n.
    /// </summary>
    private static double SmirnovSurvival(int n, double x)
    {
        var terms = (int)Math.Floor(n * (1.0 - x));
        double sum = 0, logBinomial = 0;
        for (var v = 0; v <= terms; v++)
        {
            var atV = x + (double)v / n;
            var rest = 1.0 - atV;
            if (rest > 0) sum += Math.Exp(logBinomial + (v - 1) * Math.Log(atV) + (n - v) * Math.Log(rest));
            logBinomial += Math.Log((double)(n - v) / (v + 1));
        }
        return sum * x;
    }

    /// <summary>
    /// Durbin's matrix: with n·x = k − h (k an integer, 0 ≤ h &lt; 1), P(D_n &lt; x) = n!/n^n · (H^n)_kk for an
    /// (2k−1)² matrix H, raised by squaring with the power kept in a separate exponent of 2.
    /// </summary>
    private static double DurbinCdf(int n, double x)
    {
        var nx = n * x;
        var k = (int)Math.Ceiling(nx);
        var h = k - nx;
        var m = 2 * k - 1;

        // First column v and last row (v reversed); w[j] = 1/j! fills the lower band.
        var v = new double[m];
        var w = new double[m];
        var factorial = 1.0;
        for (var j = 1; j <= m; j++)
        {
            w[j - 1] = factorial;
            factorial /= j;
            v[j - 1] = (1.0 - Math.Pow(h, j)) * factorial;
        }
        v[m - 1] = (1.0 + (Math.Pow(Math.Max(2 * h - 1.0, 0), m) - 2 * Math.Pow(h, m))) * factorial;
        var matrix = new double[m, m];
        for (var i = 1; i < m; i++)
            for (var row = i - 1; row < m; row++) matrix[row, i] = w[row - i + 1];
        for (var row = 0; row < m; row++) matrix[row, 0] = v[row];
        for (var column = 0; column < m; column++) matrix[m - 1, column] = v[m - 1 - column];

        var power = Identity(m);
        int powerExponent = 0, matrixExponent = 0;
        for (var remaining = n; remaining > 0; remaining /= 2)
        {
            if (remaining % 2 == 1)
            {
                power = Multiply(power, matrix);
                powerExponent += matrixExponent;
            }
            matrix = Multiply(matrix, matrix);
            matrixExponent *= 2;
            if (Math.Abs(matrix[k - 1, k - 1]) > Scale)
            {
                for (var row = 0; row < m; row++)
                    for (var column = 0; column < m; column++) matrix[row, column] /= Scale;
                matrixExponent += ScaleExponent;
            }
        }

        // Times n!/n^n, one factor at a time.
        var p = power[k - 1, k - 1];
        for (var i = 1; i <= n; i++)
        {
            p = i * p / n;
            if (Math.Abs(p) < InverseScale)
            {
                p *= Scale;
                powerExponent -= ScaleExponent;
            }
        }
        return Clip(Math.ScaleB(p, powerExponent));
    }

    private static double[,] Identity(int size)
    {
        var identity = new double[size, size];
        for (var i = 0; i < size; i++) identity[i, i] = 1;
        return identity;
    }

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        var size = a.GetLength(0);
        var product = new double[size, size];
        for (var i = 0; i < size; i++)
            for (var l = 0; l < size; l++)
            {
                var ail = a[i, l];
                for (var j = 0; j < size; j++) product[i, j] += ail * b[l, j];
            }
        return product;
    }

    /// <summary>
    /// Pomeranz's recursion (1974): 2n+1 rows, each the convolution of the last with truncated Poisson weights; only a
    /// band of each row can be non-zero. P(D_n ≤ x) = n!·(last entry).
    /// </summary>
    private static double PomeranzCdf(int n, double x)
    {
        var t = n * x;
        var whole = (int)Math.Floor(t);
        var fraction = t - whole;
        var g = Math.Min(fraction, 1.0 - fraction);
        var ceilFraction = fraction > 0 ? 1 : 0;
        var roundFraction = fraction > 0.5 ? 1 : 0;
        var powers = 2 * (whole + 1);
        // (g/n)^m/m!, (2g/n)^m/m!, ((1−2g)/n)^m/m!: Poisson weights without their normalising factor.
        var gPower = new double[powers];
        var twoGPower = new double[powers];
        var oneMinusTwoGPower = new double[powers];
        gPower[0] = twoGPower[0] = oneMinusTwoGPower[0] = 1.0;
        double gOverN = g / n, twoGOverN = 2 * g / n, oneMinusTwoGOverN = (1 - 2 * g) / n;
        for (var m = 1; m < powers; m++)
        {
            gPower[m] = gPower[m - 1] * gOverN / m;
            twoGPower[m] = twoGPower[m - 1] * twoGOverN / m;
            oneMinusTwoGPower[m] = oneMinusTwoGPower[m - 1] * oneMinusTwoGOverN / m;
        }

        var previous = new double[powers];
        var current = new double[powers];
        current[0] = 1;
        int previousStart = 0, currentStart = 0, exponent = 0;
        var (j1, _) = PomeranzBand(0, n, whole, ceilFraction, roundFraction);
        for (var i = 1; i < 2 * n + 2; i++)
        {
            var k1 = j1;
            (previous, current) = (current, previous);
            (previousStart, currentStart) = (currentStart, previousStart);
            Array.Clear(current);
            (j1, var j2) = PomeranzBand(i, n, whole, ceilFraction, roundFraction);
            var weights = i == 1 || i == 2 * n + 1 ? gPower : i % 2 == 1 ? twoGPower : oneMinusTwoGPower;
            var length = j2 - k1 + 1;
            if (length <= 0) continue;
            // Entries j1 … j2 of the full convolution of previous[k1 …] with the first `length` weights.
            var offset = k1 - previousStart;
            for (var c = 0; c < j2 - j1 + 1; c++)
            {
                var index = j1 - k1 + c;
                var sum = 0.0;
                for (var s = Math.Max(0, index - length + 1); s <= Math.Min(index, length - 1); s++)
                    sum += previous[offset + s] * weights[index - s];
                current[c] = sum;
            }
            var largest = current.Max();
            if (largest > 0 && largest < InverseScale)
            {
                for (var c = 0; c < current.Length; c++) current[c] *= Scale;
                exponent -= ScaleExponent;
            }
            currentStart = previousStart + j1 - k1;
        }

        var answer = current[n - currentStart];
        for (var m = 1; m <= n; m++)
        {
            if (Math.Abs(answer) > Scale)
            {
                answer *= InverseScale;
                exponent += ScaleExponent;
            }
            answer *= m;
        }
        return Clip(Math.ScaleB(answer, exponent));
    }

    /// <summary>The first and last entries of row i that can be non-zero.</summary>
    private static (int First, int Last) PomeranzBand(int i, int n, int whole, int ceilFraction, int roundFraction)
    {
        int j1, j2;
        if (i == 0) (j1, j2) = (-whole - ceilFraction - 1, whole + ceilFraction - 1);
        else
        {
            var half = (i + 1) / 2;
            if ((i + 1) % 2 == 0)
            {
                if (half == n + 1) (j1, j2) = (n - whole - ceilFraction - 1, n + whole + ceilFraction - 1);
                else (j1, j2) = (half - 1 - whole - roundFraction - 1, half + whole - 1 + ceilFraction - 1);
            }
            else (j1, j2) = (half - 1 - whole - 1, half + whole + roundFraction - 1);
        }
        return (Math.Max(j1 + 2, 0), Math.Min(j2, n));
    }

    /// <summary>
    /// Pelz and Good (1976): Li-Chien and Korolyuk's expansion K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^1.5 at z = x√n,
    /// with each K rewritten through Jacobi theta functions into sums that converge fast for small z.
    /// </summary>
    private static double PelzGoodCdf(int n, double x)
    {
        var z = Math.Sqrt(n) * x;
        double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
        double pi2 = Math.PI * Math.PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
        var qLog = -pi2 / 8 / z2;
        if (qLog < -708) return 0.0; // q underflows: z below about 0.0417
        var q = Math.Exp(qLog);

        double k1a = -z2, k1b = pi2 / 4;
        double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
        double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
        double k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * Math.Pow(z, 8);

        // Σ c_m q^(m²) over odd m, by Horner's scheme in q^(8k).
        var maxK = (int)Math.Ceiling(16 * z / Math.PI);
        double k0 = 0, k1 = 0, k2 = 0, k3 = 0;
        for (var k = maxK; k > 0; k--)
        {
            double m = 2 * k - 1, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
            var qPower = Math.Pow(q, 8 * k);
            k0 = k0 * qPower + 1.0;
            k1 = k1 * qPower + (k1a + k1b * m2);
            k2 = k2 * qPower + (k2a + k2b * m2 + k2c * m4);
            k3 = k3 * qPower + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
        }
        var common = q * Math.Sqrt(2 * Math.PI);
        k0 = k0 * common / z;
        k1 = k1 * common / (6 * z4);
        k2 = k2 * common / (72 * Math.Pow(z, 7));
        k3 = k3 * common / (6480 * Math.Pow(z, 10));

        // The sums over all integers k in K2 and K3.
        var qAll = Math.Exp(-pi2 / 2 / z2);
        var sqrt3z = Math.Sqrt(3) * z;
        double k2Extra = 0, k3Extra = 0;
        for (var k = maxK; k > 0; k--)
        {
            double kk = (double)k * k, qPower = Math.Pow(qAll, kk), kPi = Math.PI * k;
            k2Extra += kk * qPower;
            k3Extra += (sqrt3z + kPi) * (sqrt3z - kPi) * kk * qPower;
        }
        k2 += k2Extra * pi2 * Math.Sqrt(2 * Math.PI) / (-36 * z3);
        k3 += k3Extra * pi2 * Math.Sqrt(2 * Math.PI) / (216 * z6);
        return k0 + k1 / Math.Sqrt(n) + k2 / n + k3 / Math.Pow(n, 1.5);
    }
}
