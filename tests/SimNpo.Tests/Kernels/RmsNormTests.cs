using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>Three rows of six, with the input and the gain both differentiated.</summary>
public class RmsNormCase() : OpCase("rmsnorm", Rows * Dim, Dim)
{
    public const int Rows = 3, Dim = 6;
    public const float Eps = 1e-5f;

    public override int Float32Roundings => 8; // sums in float64; rounded: 1/rms, normalised value, gain product, result

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(Rows * Dim).All;
        ops.RmsNorm(output, ops.Allocate(Rows).All, inputs[0], inputs[1], Dim, Eps);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
    {
        var invRms = ops.Allocate(Rows).All;
        ops.RmsNorm(ops.Allocate(Rows * Dim).All, invRms, inputs[0], inputs[1], Dim, Eps);
        ops.RmsNormBackward(inputGrads[0], inputGrads[1], outputGrad, inputs[0], inputs[1], invRms, Dim);
    }
}

public class RmsNormTests
{
    [Test]
    public void ForwardDividesByTheRootMeanSquareAndKeepsItsInverse()
    {
        IOps<double> ops = new ReferenceOps<double>();
        var random = new Random(8);
        var (input, weight) = (OpData.Random(random, RmsNormCase.Rows * RmsNormCase.Dim), OpData.Random(random, RmsNormCase.Dim));
        var (output, invRms) = (ops.Allocate(input.Length).All, ops.Allocate(RmsNormCase.Rows).All);
        ops.RmsNorm(output, invRms, ops.Upload(input), ops.Upload(weight), RmsNormCase.Dim, RmsNormCase.Eps);
        for (var r = 0; r < RmsNormCase.Rows; r++)
        {
            var row = input.Skip(r * RmsNormCase.Dim).Take(RmsNormCase.Dim).ToArray();
            var rms = Math.Sqrt(row.Select(x => x * x).Average() + RmsNormCase.Eps);
            // float64 throughout: the two sides differ only in the order of a few roundings.
            Assert.That(OpData.Download(invRms)[r], Is.EqualTo(1 / rms).Within(1e-14).Percent);
            Assert.That(OpData.Download(output.Slice(r * RmsNormCase.Dim, RmsNormCase.Dim)),
                Is.EqualTo(row.Zip(weight, (x, w) => x / rms * w)).Within(1e-13));
        }
    }
}
