using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// A linear layer's bias added in place to a copy of the input rows: three rows of six (the spec); rows of 37, a
/// multiple of neither warp size nor the vector width; 300 rows of 70, two ranges of the fast CPU path's column sums.
/// The input's gradient is the output's (the graph passes it on; here one Add), the bias's the column sum.
/// </summary>
public class AddBiasCase(int rows, int dim, CaseSize size) : OpCase($"add bias {rows}x{dim}", rows * dim, dim)
{
    public static readonly OpCase[] Cases =
        [new AddBiasCase(3, 6, CaseSize.Small), new AddBiasCase(9, 37, CaseSize.Shaped), new AddBiasCase(300, 70, CaseSize.Ranged)];

    public override CaseSize Size => size;

    // The output and the input's gradient: one float32 addition each, one rounding.
    public override int Float32Roundings => 1;

    // The bias gradient, per column j: the reference sums in float64 and rounds the sum and the add into the gradient
    // (2 roundings); the fast paths sum the rows in float32, each of the ≤ rows partial sums rounded by u relative to
    // itself, bounded by Σ_r |g_rj| (+ the start value |g0_j|): (rows + 2)·u·(Σ_r |g_rj| + |g0_j|).
    public override double[] Float32Bounds(OpResult result, OpBackend backend)
    {
        if (result.Input != 1) return base.Float32Bounds(result, backend);
        var roundings = backend == OpBackend.Reference ? 2 : rows + 2;
        return Enumerable.Range(0, dim).Select(j =>
        {
            var total = Math.Abs(result.InitialGrads![1][j]);
            for (var r = 0; r < rows; r++) total += Math.Abs(result.OutputGrad![r * dim + j]);
            return roundings * OpResult.U * Math.Max(1, total);
        }).ToArray();
    }

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var output = ops.Allocate(rows * dim, inputs[0].Storage).All;
        ops.Copy(output, inputs[0]);
        ops.AddBias(output, inputs[1], dim);
        return output;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
    {
        ops.Add(inputGrads[0], inputGrads[0], outputGrad);
        ops.AddBiasBackward(inputGrads[1], outputGrad, dim);
    }
}

public class BiasTests
{
    [Test]
    public void BackwardSumsEveryRowOfTheGradient()
    {
        IOps<double> ops = new ReferenceOps<double>();
        var biasGrad = ops.Upload(0.5, -1);
        ops.AddBiasBackward(biasGrad, ops.Upload(1, 2, 3, 4, 5, 6), 2);
        Assert.That(OpData.Download(biasGrad), Is.EqualTo(new[] { 0.5 + 1 + 3 + 5, -1 + 2 + 4 + 6.0 }));
    }
}
