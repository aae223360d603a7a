using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// SwiGLU elementwise: eight elements with gates in [−3, 3], so the sigmoid is exercised well away from its linear middle
/// (the spec); 37 (no multiple of a warp or a vector) with gates and ups in [−8, 8], the sigmoid from nearly 0 to nearly 1;
/// 40000 of those, three of the fast CPU path's elementwise ranges.
/// </summary>
public class SwiGluCase(int length, double inputScale, CaseSize size) : OpCase($"swiglu {length}", length, length)
{
    public static readonly SwiGluCase Small = new(8, 3, CaseSize.Small);

    public static readonly OpCase[] Cases = [Small, new SwiGluCase(37, 8, CaseSize.Shaped), new SwiGluCase(40_000, 8, CaseSize.Ranged)];

    public override double InputScale => inputScale;

    public override CaseSize Size => size;

    public override int Float32Roundings => 12; // all in float32: exp (≤ 1 ulp on the CPU, ≤ 2 on a device), a division and up to six products and sums

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(length, inputs[0].Storage).All;
        ops.GatedActivation(output, inputs[0], inputs[1], Activation.Silu);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.GatedActivationBackward(inputGrads[0], inputGrads[1], outputGrad, inputs[0], inputs[1], Activation.Silu);
}

public class SwiGluTests
{
    [Test]
    public void ForwardIsSiluOfGateTimesUp()
    {
        var inputs = SwiGluCase.Small.RandomInputs(seed: 13);
        var output = SwiGluCase.Small.RunForward<double>(inputs);
        var expected = inputs[0].Zip(inputs[1], (g, u) => g / (1 + Math.Exp(-g)) * u);
        Assert.That(output, Is.EqualTo(expected).Within(1e-15)); // float64, values below 3
    }

    [Test]
    public void VeryNegativeGatesGiveZeroNotNaN()
    {
        IOps<double> ops = new ReferenceOps<double>();
        var (output, gateGrad, upGrad) = (ops.Allocate(1).All, ops.Allocate(1).All, ops.Allocate(1).All);
        var (gate, up) = (ops.Upload(-1000), ops.Upload(2));
        ops.GatedActivation(output, gate, up, Activation.Silu);
        ops.GatedActivationBackward(gateGrad, upGrad, ops.Upload(1), gate, up, Activation.Silu);
        Assert.That(OpData.Download(output).Concat(OpData.Download(gateGrad)).Concat(OpData.Download(upGrad)), Is.All.EqualTo(0));
    }

    public static IEnumerable<TestCaseData> Backends() =>
        from backend in OpBackend.All select new TestCaseData(backend).SetArgDisplayNames(backend.ToString());

    /// <summary>
    /// At a gate of −100 the exponential overflows to ∞ in float32: σ must come out 0, not NaN; at +100, σ is 1. Moved here
    /// from FastCpuOpsTests and Ilgpu/SwiGluKernelTests, now also run on the float32 reference.
    /// </summary>
    [TestCaseSource(nameof(Backends))]
    public void SaturatedGatesStayFinite(OpBackend backend)
    {
        var ops = backend.Ops;
        var (gate, up, output) = (ops.Upload(-100, 100), ops.Upload(3, 3), ops.Allocate(2).All);
        ops.GatedActivation(output, gate, up, Activation.Silu);
        Assert.That(OpData.Download(output), Is.EqualTo(new[] { 0.0, 300 }).Within(1e-30));
        var (gateGrad, upGrad) = (ops.Allocate(2).All, ops.Allocate(2).All);
        ops.GatedActivationBackward(gateGrad, upGrad, ops.Upload(1, 1), gate, up, Activation.Silu);
        Assert.That(OpData.Download(gateGrad), Is.EqualTo(new[] { 0.0, 3 }).Within(1e-30));
        Assert.That(OpData.Download(upGrad), Is.EqualTo(new[] { 0.0, 100 }).Within(1e-30));
    }
}
