using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// RoPE over rows of heads at given positions: three rows of two heads of six at positions 0, 5 and 17 with float32-exact
/// inverse frequencies (the spec); four rows of three heads of ten (an odd half, 5) at positions up to 4000, where a
/// float32 angle would be off by 1e-4, with Llama's frequencies.
/// </summary>
public class RopeCase(string name, int heads, int headDim, int[] positions, double[] inverseFrequencies, CaseSize size, int? rotaryDim = null)
    : OpCase(name, positions.Length * heads * headDim)
{
    public static readonly RopeCase Small = new("rope", 2, 6, [0, 5, 17], [1, 0.125, 0.015625], CaseSize.Small);

    public static readonly OpCase[] Cases = [Small, new RopeCase("rope 4x3x10", 3, 10, [0, 1, 7, 4000], LlamaFrequencies(10), CaseSize.Shaped)];

    public int Heads => heads;
    public int HeadDim => headDim;
    public int RotaryDim => rotaryDim ?? headDim;
    public int[] Positions => positions;
    public double[] InverseFrequencies => inverseFrequencies;

    public override CaseSize Size => size;

    public override int Float32Roundings => 4; // angles and sines in float64; two products and a sum, rounded once

    // The reduced angle rounded to float32 (at most π·2⁻²⁴ off), float32 sine and cosine (an ulp or two), two products
    // and a sum.
    public override int FastPathFloat32Roundings => 10;

    public override bool BackwardAdds => false;

    /// <summary>Llama's 10000^(−2i/d), rounded to float32 as the model stores them.</summary>
    public static double[] LlamaFrequencies(int headDim) =>
        Enumerable.Range(0, headDim / 2).Select(i => (double)(float)Math.Pow(10000, -2.0 * i / headDim)).ToArray();

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var x = ops.Allocate(inputs[0].Length, inputs[0].Storage).All;
        ops.Copy(x, inputs[0]);
        ops.Rope(x, ops.UploadInts(positions), ops.Upload(inverseFrequencies), heads, headDim, RotaryDim);
        return x;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
    {
        ops.Copy(inputGrads[0], outputGrad);
        ops.RopeBackward(inputGrads[0], ops.UploadInts(positions), ops.Upload(inverseFrequencies), heads, headDim, RotaryDim);
    }
}

public class RopeTests
{
    [Test]
    public void ForwardMultipliesEachHalfPairByTheUnitComplexNumberOfItsAngle()
    {
        var op = RopeCase.Small;
        var x = OpData.Random(new Random(10), op.Positions.Length * op.Heads * op.HeadDim);
        var rotated = op.RunForward<double>([x]);
        var half = op.HeadDim / 2;
        for (var r = 0; r < op.Positions.Length; r++)
            for (var h = 0; h < op.Heads; h++)
                for (var i = 0; i < half; i++)
                {
                    var first = (r * op.Heads + h) * op.HeadDim + i;
                    var pair = new Complex(x[first], x[first + half]) * Complex.FromPolarCoordinates(1, op.Positions[r] * op.InverseFrequencies[i]);
                    // float64 on both sides: a few roundings of O(1) values.
                    Assert.That(rotated[first], Is.EqualTo(pair.Real).Within(1e-15));
                    Assert.That(rotated[first + half], Is.EqualTo(pair.Imaginary).Within(1e-15));
                }
        Assert.That(rotated[..(op.Heads * op.HeadDim)], Is.EqualTo(x[..(op.Heads * op.HeadDim)]), "position 0 is no rotation");
    }
}
