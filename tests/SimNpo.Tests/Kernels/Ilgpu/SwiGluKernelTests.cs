using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>37 elements (or as many as given) with gates and ups in [−8, 8]: the sigmoid from nearly 0 to nearly 1.</summary>
public class SwiGluKernelCase(int length = 37) : OpCase($"swiglu {length}", length, length)
{
    public override double InputScale => 8;

    public override int Float32Roundings => 12; // exp (≤ 2 ulps), a division and up to six products and sums

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(length, inputs[0].Storage).All;
        ops.SwiGlu(output, inputs[0], inputs[1]);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.SwiGluBackward(inputGrads[0], inputGrads[1], outputGrad, inputs[0], inputs[1]);
}

public class SwiGluKernelTests
{
    /// <summary>At a gate of −100 the exponential overflows to ∞: σ must come out 0, not NaN; at +100, σ is 1.</summary>
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void SaturatedGatesStayFinite(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var (gate, up, output) = (ops.Upload(-100, 100), ops.Upload(3, 3), ops.Allocate(2).All);
        ops.SwiGlu(output, gate, up);
        Assert.That(OpData.Download(output), Is.EqualTo(new[] { 0.0, 300 }).Within(1e-30));
        var (gateGrad, upGrad) = (ops.Allocate(2).All, ops.Allocate(2).All);
        ops.SwiGluBackward(gateGrad, upGrad, ops.Upload(1, 1), gate, up);
        Assert.That(OpData.Download(gateGrad), Is.EqualTo(new[] { 0.0, 3 }).Within(1e-30));
        Assert.That(OpData.Download(upGrad), Is.EqualTo(new[] { 0.0, 100 }).Within(1e-30));
    }
}
