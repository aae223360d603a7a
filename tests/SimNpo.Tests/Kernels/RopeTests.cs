using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>Three rows of two heads of six, at positions 0, 5 and 17, with float32-exact inverse frequencies.</summary>
public class RopeCase() : OpCase("rope", Positions.Length * Heads * HeadDim)
{
    public const int Heads = 2, HeadDim = 6;
    public static readonly int[] Positions = [0, 5, 17];
    public static readonly double[] InverseFrequencies = [1, 0.125, 0.015625];

    public override int Float32Roundings => 4; // angles and sines in float64; two products and a sum, rounded once

    public override bool BackwardAdds => false;

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var x = ops.Allocate(inputs[0].Length).All;
        ops.Copy(x, inputs[0]);
        ops.Rope(x, ops.UploadInts(Positions), ops.Upload(InverseFrequencies), Heads, HeadDim);
        return x;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
    {
        ops.Copy(inputGrads[0], outputGrad);
        ops.RopeBackward(inputGrads[0], ops.UploadInts(Positions), ops.Upload(InverseFrequencies), Heads, HeadDim);
    }
}

public class RopeTests
{
    [Test]
    public void ForwardMultipliesEachHalfPairByTheUnitComplexNumberOfItsAngle()
    {
        var x = OpData.Random(new Random(10), RopeCase.Positions.Length * RopeCase.Heads * RopeCase.HeadDim);
        var rotated = new RopeCase().RunForward<double>([x]);
        const int half = RopeCase.HeadDim / 2;
        for (var r = 0; r < RopeCase.Positions.Length; r++)
            for (var h = 0; h < RopeCase.Heads; h++)
                for (var i = 0; i < half; i++)
                {
                    var first = (r * RopeCase.Heads + h) * RopeCase.HeadDim + i;
                    var pair = new Complex(x[first], x[first + half]) * Complex.FromPolarCoordinates(1, RopeCase.Positions[r] * RopeCase.InverseFrequencies[i]);
                    // float64 on both sides: a few roundings of O(1) values.
                    Assert.That(rotated[first], Is.EqualTo(pair.Real).Within(1e-15));
                    Assert.That(rotated[first + half], Is.EqualTo(pair.Imaginary).Within(1e-15));
                }
        Assert.That(rotated[..(RopeCase.Heads * RopeCase.HeadDim)], Is.EqualTo(x[..(RopeCase.Heads * RopeCase.HeadDim)]), "position 0 is no rotation");
    }
}
