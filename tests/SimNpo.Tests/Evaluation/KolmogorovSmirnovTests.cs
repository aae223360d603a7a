using System.Text.Json.Nodes;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>Against scipy.stats.ks_2samp with its defaults (tools/fixtures/make_ks_fixture.py).</summary>
public class KolmogorovSmirnovTests
{
    private static readonly JsonNode Fixture =
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "evaluation", "ks_2samp.json")))!;

    // The statistic is a difference of two counts over sizes, the same doubles scipy forms; scipy's exact branch then
    // reports it re-rounded as h/lcm(n1, n2), which can differ in the last bit: 1e-15 allows a few ulps of numbers ≤ 1.
    private const double StatisticTolerance = 1e-15;

    // The exact p-values repeat scipy's floating-point operations in its order, so they agree to rounding; 1e-10
    // relative leaves room for the few ulps a compiler may reorder. The asymptotic ones sum series in another order
    // (Durbin's matrix products, the Smirnov sum built in logarithms, where n·log terms of size ~1e4 carry ~1e-12
    // relative error), still well inside 1e-10.
    private const double RelativeTolerance = 1e-10;

    private static double[] Values(JsonNode node) => node.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    private static void AssertMatches(double[] a, double[] b, JsonNode expected, string name)
    {
        var statistic = expected["statistic"]!.GetValue<double>();
        var pValue = expected["pvalue"]!.GetValue<double>();
        Assert.That(KolmogorovSmirnov.Statistic(a, b), Is.EqualTo(statistic).Within(StatisticTolerance), name);
        Assert.That(KolmogorovSmirnov.TwoSamplePValue(a, b), Is.EqualTo(pValue).Within(RelativeTolerance * pValue), name);
    }

    [Test]
    public void MatchesScipyOnSmallSamples()
    {
        var cases = Fixture["explicit"]!.AsArray();
        Assert.That(cases, Has.Count.GreaterThanOrEqualTo(35));
        foreach (var entry in cases)
            AssertMatches(Values(entry!["a"]!), Values(entry["b"]!), entry, entry["note"]!.GetValue<string>());
    }

    /// <summary>
    /// a[i] = i/n1, b[j] = shift + width·(j + 0.5)/n2, as the fixture script builds them: both sides of the
    /// 10000-value limit, and every method scipy's kstwo survival function chooses beyond it.
    /// </summary>
    [Test]
    public void MatchesScipyOnLargeSamplesExactAndAsymptotic()
    {
        var cases = Fixture["generated"]!.AsArray();
        Assert.That(cases.Select(c => c!["branch"]?.GetValue<string>()).Distinct().Count(), Is.GreaterThanOrEqualTo(12));
        foreach (var entry in cases)
        {
            int n1 = entry!["n1"]!.GetValue<int>(), n2 = entry["n2"]!.GetValue<int>();
            double shift = entry["shift"]!.GetValue<double>(), width = entry["width"]!.GetValue<double>();
            var a = Enumerable.Range(0, n1).Select(i => (double)i / n1).ToArray();
            var b = Enumerable.Range(0, n2).Select(j => shift + width * (j + 0.5) / n2).ToArray();
            AssertMatches(a, b, entry, $"{n1}/{n2} shift {shift} width {width}: {entry["branch"]}");
        }
    }

    [Test]
    public void OrderOfTheSamplesDoesNotMatter()
    {
        double[] a = [0.3, 0.1, 0.2, 0.9], b = [0.5, 0.4, 0.6];
        Assert.That(KolmogorovSmirnov.TwoSamplePValue(a, b), Is.EqualTo(KolmogorovSmirnov.TwoSamplePValue(b, a)));
        Assert.That(KolmogorovSmirnov.Statistic(a.Reverse().ToArray(), b), Is.EqualTo(KolmogorovSmirnov.Statistic(a, b)));
    }

    [Test]
    public void EqualSizesFullySeparatedHaveTheClosedForm()
    {
        // Every one of a below every one of b: D = 1, and only the 2 of the C(2n, n) interleavings that keep the
        // samples apart reach it, so p = 2/C(8, 4) = 1/35 for n = 4.
        Assert.That(KolmogorovSmirnov.TwoSamplePValue([1, 2, 3, 4], [5, 6, 7, 8]), Is.EqualTo(2.0 / 70).Within(1e-15));
    }

    [Test]
    public void RejectsEmptyAndNaNSamples()
    {
        Assert.That(() => KolmogorovSmirnov.TwoSamplePValue([], [1.0]), Throws.ArgumentException);
        Assert.That(() => KolmogorovSmirnov.Statistic([1.0], [double.NaN]), Throws.ArgumentException);
    }
}
