using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>The small ops without a gradient of their own, and the size checks every op shares.</summary>
public class ReferenceOpsTests
{
    private readonly IOps<double> _ops = new ReferenceOps<double>();

    [Test]
    public void ZeroCopyAndAddWorkOnTheirViewsOnly()
    {
        var buffer = _ops.Allocate(6);
        buffer.Upload([1, 2, 3, 4, 5, 6], 0);
        _ops.Zero(buffer.All.Slice(1, 2));
        _ops.Copy(buffer.All.Slice(4, 2), buffer.All.Slice(0, 2));
        Assert.That(OpData.Download(buffer.All), Is.EqualTo(new double[] { 1, 0, 0, 4, 1, 0 }));
        var sum = _ops.Allocate(2).All;
        _ops.Add(sum, _ops.Upload(1, 2), _ops.Upload(10, 20));
        Assert.That(OpData.Download(sum), Is.EqualTo(new double[] { 11, 22 }));
    }

    [Test]
    public void SumOfSquaresIsFloat64EvenForFloat32Data()
    {
        // 1 + 2²⁴ · (2⁻¹²)² = 2, but a float32 running sum would stay at 1: each 2⁻²⁴ is below half an ulp of 1.
        IOps<float> ops = new ReferenceOps<float>();
        var x = ops.Upload([1.0, .. Enumerable.Repeat(1.0 / 4096, 1 << 24)]);
        Assert.That(ops.SumOfSquares(x), Is.EqualTo(2.0));
    }

    [Test]
    public void ScaleMultipliesInPlace()
    {
        var x = _ops.Upload(1, -2, 0.5);
        _ops.Scale(x, 0.25f);
        Assert.That(OpData.Download(x), Is.EqualTo(new[] { 0.25, -0.5, 0.125 }));
    }

    [Test]
    public void MismatchedSizesAreRejected()
    {
        var output = _ops.Allocate(6).All;
        Assert.That(() => _ops.MatMul(output, _ops.Upload(new double[6]), _ops.Upload(new double[5]), 2, 3, 2),
            Throws.ArgumentException.With.Message.Contains("weight has 5 elements, expected 6"));
    }
}
