using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// RMSNorm over rows, with the input and the gain both differentiated: three rows of six (the spec); rows of 37, a
/// multiple of neither warp size (4 and 32), leaving a partial warp on both devices; rows of 70, spanning several warps on
/// the NVIDIA-like device and several strides of a 16-thread group on the default one; 300 rows of 70, two ranges of the
/// fast CPU path's weight-gradient partials; and Gemma's gain 1 + w on the spec and the partial-warp rows.
/// </summary>
public class RmsNormCase(int rows, int dim, CaseSize size, float weightOffset = 0)
    : OpCase(weightOffset == 0 ? $"rmsnorm {rows}x{dim}" : $"rmsnorm {rows}x{dim} gain {weightOffset} + w", rows * dim, dim)
{
    public const float Eps = 1e-5f;

    public static readonly OpCase[] Cases =
        [new RmsNormCase(3, 6, CaseSize.Small), new RmsNormCase(9, 37, CaseSize.Shaped), new RmsNormCase(4, 70, CaseSize.Shaped),
        new RmsNormCase(300, 70, CaseSize.Ranged), new RmsNormCase(3, 6, CaseSize.Small, weightOffset: 1),
        new RmsNormCase(9, 37, CaseSize.Shaped, weightOffset: 1)];

    public override CaseSize Size => size;

    // Sums in float64; rounded: 1/rms, normalised value, the gain o + w (Gemma's offset), gain product, result.
    public override int Float32Roundings => 8;

    // Sums kept in float32: the row's sum of squares and the backward's dot product (dim terms each, ≤ dim roundings of
    // running sums bounded by the terms' total) and the weight gradient's sum over rows (≤ rows); a few more for the
    // elementwise products, the square root and the division.
    public override int FastPathFloat32Roundings => 2 * dim + rows + 8;

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(rows * dim, inputs[0].Storage).All;
        ops.RmsNorm(output, ops.Allocate(rows).All, inputs[0], inputs[1], dim, Eps, weightOffset);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
    {
        var invRms = ops.Allocate(rows).All;
        ops.RmsNorm(ops.Allocate(rows * dim, inputs[0].Storage).All, invRms, inputs[0], inputs[1], dim, Eps, weightOffset);
        ops.RmsNormBackward(inputGrads[0], inputGrads[1], outputGrad, inputs[0], inputs[1], invRms, dim, weightOffset);
    }
}

public class RmsNormTests
{
    [Test]
    public void ForwardDividesByTheRootMeanSquareAndKeepsItsInverse()
    {
        const int rows = 3, dim = 6;
        IOps<double> ops = new ReferenceOps<double>();
        var random = new Random(8);
        var (input, weight) = (OpData.Random(random, rows * dim), OpData.Random(random, dim));
        var (output, invRms) = (ops.Allocate(input.Length).All, ops.Allocate(rows).All);
        ops.RmsNorm(output, invRms, ops.Upload(input), ops.Upload(weight), dim, RmsNormCase.Eps, 0);
        for (var r = 0; r < rows; r++)
        {
            var row = input.Skip(r * dim).Take(dim).ToArray();
            var rms = Math.Sqrt(row.Select(x => x * x).Average() + RmsNormCase.Eps);
            // float64 throughout: the two sides differ only in the order of a few roundings.
            Assert.That(OpData.Download(invRms)[r], Is.EqualTo(1 / rms).Within(1e-14).Percent);
            Assert.That(OpData.Download(output.Slice(r * dim, dim)),
                Is.EqualTo(row.Zip(weight, (x, w) => x / rms * w)).Within(1e-13));
        }
    }
}
