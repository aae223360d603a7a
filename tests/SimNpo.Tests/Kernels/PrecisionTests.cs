namespace SimNpo.Tests.Kernels;

/// <summary>The float32 instantiation of every op agrees with the float64 one within the rounding its sums allow.</summary>
public class PrecisionTests
{
    private const double Float32UnitRoundoff = 1.0 / (1 << 24);

    [TestCaseSource(typeof(GradientTests), nameof(GradientTests.Cases))]
    public void Float32AgreesWithFloat64(OpCase op)
    {
        var inputs = op.RandomInputs(seed: 5);
        var single = op.RunForward<float>(inputs);
        var exact = op.RunForward<double>(inputs);
        AssertClose(op, "output", single, exact);
        var outputGrad = OpData.Random(new Random(6), exact.Length);
        var singleGrads = op.RunBackward<float>(inputs, outputGrad);
        var exactGrads = op.RunBackward<double>(inputs, outputGrad);
        for (var n = 0; n < inputs.Length; n++) AssertClose(op, $"gradient of input {n}", singleGrads[n], exactGrads[n]);
    }

    /// <summary>Each rounding errs by at most u relative to an intermediate no larger than max(1, max|result|) here.</summary>
    private static void AssertClose(OpCase op, string what, double[] single, double[] exact)
    {
        var scale = Math.Max(1, exact.Max(Math.Abs));
        var tolerance = op.Float32Roundings * Float32UnitRoundoff * scale;
        Assert.That(single, Is.EqualTo(exact).Within(tolerance), $"{op}: {what}");
    }
}
