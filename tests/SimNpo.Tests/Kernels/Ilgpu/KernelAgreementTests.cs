using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// Every one-pass kernel against the CPU reference run in float64 on the same float32 data, forward and backward, on
/// both simulated devices. Gradient buffers start from random values, so a backward that overwrites instead of adding
/// fails. Tolerance: each case's <see cref="OpCase.Float32Roundings"/> (counting the terms the kernel sums in float32)
/// times 2⁻²⁴ times max(1, largest expected magnitude), the bound the reference's own float32 run is held to.
/// </summary>
public class KernelAgreementTests
{
    private const double Float32UnitRoundoff = 1.0 / (1 << 24);

    public static IEnumerable<OpCase> Ops =>
    [
        new EmbeddingKernelCase(), new RmsNormKernelCase(9, 37), new RmsNormKernelCase(4, 70), new RopeKernelCase(), new SwiGluKernelCase(),
    ];

    public static IEnumerable<TestCaseData> Cases() =>
        from device in SimulatedDevices.Names
        from op in Ops
        select new TestCaseData(device, op).SetArgDisplayNames(device, op.ToString());

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchTheReference(string device, OpCase op)
    {
        IOps<float> kernels = SimulatedDevices.Get(device);
        IOps<double> reference = new ReferenceOps<double>();
        var inputs = op.RandomInputs(seed: 11);
        var exact = OpRuns.Forward(op, reference, inputs);
        AssertClose(op, "output", OpRuns.Forward(op, kernels, inputs), exact);

        var random = new Random(12);
        var outputGrad = OpData.Random(random, exact.Length);
        var initialGrads = inputs.Select(x => OpData.Random(random, x.Length)).ToArray();
        var exactGrads = OpRuns.Backward(op, reference, inputs, outputGrad, initialGrads);
        var grads = OpRuns.Backward(op, kernels, inputs, outputGrad, initialGrads);
        for (var n = 0; n < inputs.Length; n++) AssertClose(op, $"gradient of input {n}", grads[n], exactGrads[n]);
    }

    private static void AssertClose(OpCase op, string what, double[] actual, double[] exact)
    {
        var tolerance = op.Float32Roundings * Float32UnitRoundoff * Math.Max(1, exact.Max(Math.Abs));
        Assert.That(actual, Is.EqualTo(exact).Within(tolerance), $"{op}: {what}");
    }
}
