using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// LayerNorm over rows, with the input, the weight and the bias all differentiated: three rows of six and two rows of
/// five centred at 8 (the spec, differentiated numerically); rows of 37, a multiple of neither warp size (4 and 32), leaving
/// a partial warp on both devices; rows of 70 centred at 16, spanning several warps and several strides of a group, where
/// a one-pass variance (mean(x²) − μ²) would lose most of its bits; 300 rows of 70, two ranges of the fast CPU path's
/// parameter-gradient partials. Inputs are uniform in [M − 1, M + 1] for the row centre M.
/// </summary>
public class LayerNormCase(int rows, int dim, CaseSize size, double centre = 0)
    : OpCase(centre == 0 ? $"layernorm {rows}x{dim}" : $"layernorm {rows}x{dim} centred at {centre}", rows * dim, dim, dim)
{
    public const float Eps = 1e-5f;

    public static readonly OpCase[] Cases =
    [
        new LayerNormCase(3, 6, CaseSize.Small), new LayerNormCase(2, 5, CaseSize.Small, centre: 8), new LayerNormCase(9, 37, CaseSize.Shaped),
        new LayerNormCase(4, 70, CaseSize.Shaped, centre: 16), new LayerNormCase(300, 70, CaseSize.Ranged),
    ];

    public override CaseSize Size => size;

    // The reference computes each output in float64 and rounds it once, but its backward reads the statistics as stored
    // (μ and s rounded to float32, each by u relative), which moves x̂ = (x − μ)·s by up to u·(|x̂| + |μ|·s); those
    // errors reach the input gradient through s·x̂·mean(ĝ·x̂) and the parameter gradients through every row's g·x̂. So
    // a rounding here is u relative to the amplification A = max_r s_r·(1 + |μ_r|)·max(1, max_j |x̂_rj|) times the
    // result's scale, and the weight gradient sums one such error per row: rows + 8.
    public override int Float32Roundings => rows + 8;

    // The fast paths also keep in float32: the device's group sums of x, (x − μ)², ĝ and ĝ·x̂ (dim terms each, 2·dim
    // counting the two passes), the parameter gradients' sums over rows (≤ rows), and about eight elementwise roundings
    // (x − μ, ·s, ·w, +b, ĝ, x̂·mean(ĝx̂), the two differences, ·s, the add into the gradient).
    public override int FastPathFloat32Roundings => 2 * dim + rows + 16;

    public override double[] Float32Bounds(OpResult result, OpBackend backend)
    {
        var roundings = backend == OpBackend.Reference ? Float32Roundings : FastPathFloat32Roundings;
        return result.Uniform(roundings * OpResult.U * result.Scale * Amplification(result.Inputs[0]));
    }

    /// <summary>A of the bound above, from the float64 input.</summary>
    private double Amplification(double[] input)
    {
        var amplification = 1.0;
        for (var r = 0; r < rows; r++)
        {
            var row = input.AsSpan(r * dim, dim).ToArray();
            var (mean, invStd) = ClosedForm.Statistics(row);
            var largest = row.Max(x => Math.Abs(x - mean) * invStd);
            amplification = Math.Max(amplification, invStd * (1 + Math.Abs(mean)) * Math.Max(1, largest));
        }
        return amplification;
    }

    public override double[][] RandomInputs(int seed)
    {
        var inputs = base.RandomInputs(seed);
        inputs[0] = inputs[0].Select(x => (double)(float)(centre + x)).ToArray();
        return inputs;
    }

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs) => Run(ops, inputs).Output;

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
    {
        var (_, mean, invStd) = Run(ops, inputs);
        ops.LayerNormBackward(inputGrads[0], inputGrads[1], inputGrads[2], outputGrad, inputs[0], inputs[1], mean, invStd, dim);
    }

    private (View<T> Output, View<T> Mean, View<T> InvStd) Run<T>(IOps<T> ops, View<T>[] inputs) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var (output, mean, invStd) = (ops.Allocate(rows * dim, inputs[0].Storage).All, ops.Allocate(rows).All, ops.Allocate(rows).All);
        ops.LayerNorm(output, mean, invStd, inputs[0], inputs[1], inputs[2], dim, Eps);
        return (output, mean, invStd);
    }

    /// <summary>LayerNorm written from its definition in float64, one row at a time (torch.nn.LayerNorm: population variance).</summary>
    public static class ClosedForm
    {
        public static (double Mean, double InvStd) Statistics(double[] row)
        {
            var mean = row.Average();
            return (mean, 1 / Math.Sqrt(row.Average(x => (x - mean) * (x - mean)) + Eps));
        }
    }
}

public class LayerNormTests
{
    [Test]
    public void ForwardMatchesTheDefinitionAndKeepsMeanAndInverseStd()
    {
        const int rows = 3, dim = 7;
        IOps<double> ops = new ReferenceOps<double>();
        var random = new Random(8);
        // Rows centred at 0, 100 and −3000: the statistics must not lose the spread to the centre.
        var input = OpData.Random(random, rows * dim).Select((x, i) => x + new[] { 0.0, 100, -3000 }[i / dim]).ToArray();
        var (weight, bias) = (OpData.Random(random, dim), OpData.Random(random, dim));
        var (output, mean, invStd) = (ops.Allocate(input.Length).All, ops.Allocate(rows).All, ops.Allocate(rows).All);
        ops.LayerNorm(output, mean, invStd, ops.Upload(input), ops.Upload(weight), ops.Upload(bias), dim, LayerNormCase.Eps);
        for (var r = 0; r < rows; r++)
        {
            var row = input.Skip(r * dim).Take(dim).ToArray();
            var (mu, s) = LayerNormCase.ClosedForm.Statistics(row);
            // float64 throughout: the two sides differ only in the order of a few roundings of values up to 3000 (the mean),
            // ~1e-16·3000·s·dim in x − μ.
            Assert.That(OpData.Download(mean)[r], Is.EqualTo(mu).Within(1e-14).Percent);
            Assert.That(OpData.Download(invStd)[r], Is.EqualTo(s).Within(1e-10).Percent);
            var expected = row.Select((x, j) => (x - mu) * s * weight[j] + bias[j]);
            Assert.That(OpData.Download(output.Slice(r * dim, dim)), Is.EqualTo(expected).Within(1e-11));
        }
    }
}
