using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>Eight elements, gates in [−3, 3] so the sigmoid is exercised well away from its linear middle.</summary>
public class SwiGluCase() : OpCase("swiglu", Length, Length)
{
    public const int Length = 8;

    public override double InputScale => 3;

    public override int Float32Roundings => 12; // all in float32: exp (≤ 1 ulp), a division and up to six products and sums

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(Length).All;
        ops.SwiGlu(output, inputs[0], inputs[1]);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.SwiGluBackward(inputGrads[0], inputGrads[1], outputGrad, inputs[0], inputs[1]);
}

public class SwiGluTests
{
    [Test]
    public void ForwardIsSiluOfGateTimesUp()
    {
        var inputs = new SwiGluCase().RandomInputs(seed: 13);
        var output = new SwiGluCase().RunForward<double>(inputs);
        var expected = inputs[0].Zip(inputs[1], (g, u) => g / (1 + Math.Exp(-g)) * u);
        Assert.That(output, Is.EqualTo(expected).Within(1e-15)); // float64, values below 3
    }

    [Test]
    public void VeryNegativeGatesGiveZeroNotNaN()
    {
        IOps<double> ops = new ReferenceOps<double>();
        var (output, gateGrad, upGrad) = (ops.Allocate(1).All, ops.Allocate(1).All, ops.Allocate(1).All);
        var (gate, up) = (ops.Upload(-1000), ops.Upload(2));
        ops.SwiGlu(output, gate, up);
        ops.SwiGluBackward(gateGrad, upGrad, ops.Upload(1), gate, up);
        Assert.That(OpData.Download(output).Concat(OpData.Download(gateGrad)).Concat(OpData.Download(upGrad)), Is.All.EqualTo(0));
    }
}
