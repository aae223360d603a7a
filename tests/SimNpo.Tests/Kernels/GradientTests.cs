namespace SimNpo.Tests.Kernels;

/// <summary>Every backward against central finite differences of the float64 forward, on every input element.</summary>
public class GradientTests
{
    /// <summary>Each op's small cases: numerical differentiation runs the forward twice per input element.</summary>
    public static IEnumerable<OpCase> Cases => OpCases.All.Where(op => op.Size == CaseSize.Small);

    public static IEnumerable<OpCase> AddingCases => Cases.Where(op => op.BackwardAdds);

    // Central differences with step h err by truncation ~h²·|f'''|/6 and rounding ~ε·|L|/h, with ε = 2⁻⁵³ and losses |L| < 10
    // here: h = 1e-5 makes both ~1e-10 (the largest error seen is 1e-10), so 1e-8 relative to max(1, |gradient|) leaves a
    // margin of 100, while a wrong term in a backward is off by O(0.01..1).
    private const double Step = 1e-5;
    private const double Tolerance = 1e-8;

    [TestCaseSource(nameof(Cases))]
    public void BackwardMatchesCentralDifferences(OpCase op)
    {
        var inputs = op.RandomInputs(seed: 1);
        var outputGrad = OpData.Random(new Random(2), op.RunForward<double>(inputs).Length);
        var analytic = op.RunBackward<double>(inputs, outputGrad);
        double Loss() => op.RunForward<double>(inputs).Zip(outputGrad, (y, g) => y * g).Sum();
        for (var n = 0; n < inputs.Length; n++)
            for (var e = 0; e < inputs[n].Length; e++)
            {
                var saved = inputs[n][e];
                inputs[n][e] = saved + Step;
                var plus = Loss();
                inputs[n][e] = saved - Step;
                var minus = Loss();
                inputs[n][e] = saved;
                var numeric = (plus - minus) / (2 * Step);
                Assert.That(analytic[n][e], Is.EqualTo(numeric).Within(Tolerance * Math.Max(1, Math.Abs(numeric))),
                    $"{op}: gradient of input {n}, element {e}");
            }
    }

    [TestCaseSource(nameof(AddingCases))]
    public void BackwardAddsIntoGradients(OpCase op)
    {
        var inputs = op.RandomInputs(seed: 3);
        var outputGrad = OpData.Random(new Random(4), op.RunForward<double>(inputs).Length);
        var once = op.RunBackward<double>(inputs, outputGrad, calls: 1);
        var twice = op.RunBackward<double>(inputs, outputGrad, calls: 2);
        for (var n = 0; n < inputs.Length; n++)
        {
            Assert.That(once[n].Any(g => g != 0), $"{op}: input {n} got no gradient at all");
            // Twice the same O(1) values, apart from float64 rounding of the repeated additions (~1e-16 each).
            Assert.That(twice[n], Is.EqualTo(once[n].Select(g => 2 * g)).Within(1e-13), $"{op}: input {n}");
        }
    }
}
