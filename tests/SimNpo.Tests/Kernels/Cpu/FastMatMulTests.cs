using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Kernels.Runtime;

namespace SimNpo.Tests.Kernels.Cpu;

/// <summary>
/// The packed SGEMM's three products against <see cref="MatMul.Reference"/> run in float64 on the same float32 inputs
/// (exact products, so the reference is the true value to ~1e-16). Shapes are ragged against the 6×16 micro-tile, and the
/// last one crosses the 192-row and 256-column blocks and the 256-deep K slice.
///
/// Tolerance, per element: a float32 sum of n products (with FMA) in any fixed order, starting from an initial value
/// c, is off by at most γ_n·(|c| + Σ|a·b|) with γ_n = n·u/(1 − n·u), u = 2⁻²⁴, n counting c as a term; (n + 1)·u bounds
/// γ_n for n·u ≪ 1. Σ|a·b| is the same product of the absolute values, computed by the reference. A missing, doubled or
/// misplaced term changes an element by about |a·b|, far above this bound.
/// </summary>
public class FastMatMulTests
{
    private static readonly object[] Shapes =
    [
        new[] { 1, 1, 1 }, new[] { 7, 13, 5 }, new[] { 37, 45, 29 }, new[] { 64, 64, 64 }, new[] { 130, 70, 200 }, new[] { 300, 270, 260 },
    ];

    [TestCaseSource(nameof(Shapes))]
    public void ForwardOverwritesWithTheProduct(int[] shape)
    {
        var (rows, inDim, outDim) = (shape[0], shape[1], shape[2]);
        var random = new Random(rows * 7919 + inDim);
        var (input, weight) = (RandomFloats(random, rows * inDim), RandomFloats(random, outDim * inDim));
        var output = new float[rows * outDim];
        Array.Fill(output, float.NaN); // an op that read its output instead of overwriting it would give NaN

        FastMatMul.Forward(output, input, weight, rows, inDim, outDim);

        var expected = new double[rows * outDim];
        MatMul.Reference.Forward<double>(expected, Widen(input), Widen(weight), rows, inDim, outDim);
        var magnitude = new double[rows * outDim];
        MatMul.Reference.Forward<double>(magnitude, Absolute(input), Absolute(weight), rows, inDim, outDim);
        AssertWithinRounding(output, expected, magnitude, inDim, "output");
    }

    [TestCaseSource(nameof(Shapes))]
    public void BackwardAddsBothGradients(int[] shape)
    {
        var (rows, inDim, outDim) = (shape[0], shape[1], shape[2]);
        var random = new Random(rows * 104729 + outDim);
        var (input, weight, outputGrad) = (RandomFloats(random, rows * inDim), RandomFloats(random, outDim * inDim), RandomFloats(random, rows * outDim));
        var (inputGrad, weightGrad) = (RandomFloats(random, rows * inDim), RandomFloats(random, outDim * inDim));
        double[] expectedInputGrad = Widen(inputGrad), expectedWeightGrad = Widen(weightGrad);
        double[] inputGradMagnitude = Absolute(inputGrad), weightGradMagnitude = Absolute(weightGrad);

        FastMatMul.Backward(inputGrad, weightGrad, outputGrad, input, weight, rows, inDim, outDim);

        MatMul.Reference.Backward<double>(expectedInputGrad, expectedWeightGrad, Widen(outputGrad), Widen(input), Widen(weight), rows, inDim, outDim);
        MatMul.Reference.Backward<double>(inputGradMagnitude, weightGradMagnitude, Absolute(outputGrad), Absolute(input), Absolute(weight), rows, inDim,
            outDim);
        AssertWithinRounding(inputGrad, expectedInputGrad, inputGradMagnitude, outDim + 1, "inputGrad");
        AssertWithinRounding(weightGrad, expectedWeightGrad, weightGradMagnitude, rows + 1, "weightGrad");
    }

    /// <summary>
    /// All five matrices stored as bfloat16 through <see cref="FastCpuOps"/>, inputs rounded to bfloat16 first: the GEMM
    /// widens them exactly while packing and sums in float32 as above, then rounds each element of C once (the backward's
    /// C = bf16(C + Σ), summed over every K slice first). So per element: 2⁻⁸·|exact| for the rounding plus the float32
    /// bound of the sum, taken times (1 + 2⁻⁸) &lt; 2 because the rounding applies to the float32 result. A rounding after
    /// each 256-deep K slice (the 300×270×260 shape has two) would add a second one, which this bound does not allow.
    /// </summary>
    [TestCaseSource(nameof(Shapes))]
    public void BFloat16ProductsRoundTheFloat32SumOnce(int[] shape)
    {
        var (rows, inDim, outDim) = (shape[0], shape[1], shape[2]);
        var random = new Random(rows * 31 + outDim);
        float[] Bf16(int length) => RandomFloats(random, length).Select(BFloat16.Round).ToArray();
        var (input, weight, outputGrad, inputGrad, weightGrad) = (Bf16(rows * inDim), Bf16(outDim * inDim), Bf16(rows * outDim), Bf16(rows * inDim),
            Bf16(outDim * inDim));
        IOps<float> ops = new FastCpuOps();
        View<float> Stored(float[] values)
        {
            var view = ops.Allocate(values.Length, Storage.BFloat16).All;
            view.CopyFrom(values);
            return view;
        }
        var (inputView, weightView, output) = (Stored(input), Stored(weight), Stored(Enumerable.Repeat(float.NaN, rows * outDim).ToArray()));
        var (inputGradView, weightGradView) = (Stored(inputGrad), Stored(weightGrad));
        ops.MatMul(output, inputView, weightView, rows, inDim, outDim);
        ops.MatMulBackward(inputGradView, weightGradView, Stored(outputGrad), inputView, weightView, rows, inDim, outDim);

        var (expected, magnitude) = (new double[rows * outDim], new double[rows * outDim]);
        MatMul.Reference.Forward<double>(expected, Widen(input), Widen(weight), rows, inDim, outDim);
        MatMul.Reference.Forward<double>(magnitude, Absolute(input), Absolute(weight), rows, inDim, outDim);
        double[] expectedInputGrad = Widen(inputGrad), expectedWeightGrad = Widen(weightGrad);
        double[] inputGradMagnitude = Absolute(inputGrad), weightGradMagnitude = Absolute(weightGrad);
        MatMul.Reference.Backward<double>(expectedInputGrad, expectedWeightGrad, Widen(outputGrad), Widen(input), Widen(weight), rows, inDim, outDim);
        MatMul.Reference.Backward<double>(inputGradMagnitude, weightGradMagnitude, Absolute(outputGrad), Absolute(input), Absolute(weight), rows, inDim,
            outDim);
        AssertWithinRounding(output.ToArray(), expected, magnitude, inDim, "bf16 output", storedAsBFloat16: true);
        AssertWithinRounding(inputGradView.ToArray(), expectedInputGrad, inputGradMagnitude, outDim + 1, "bf16 inputGrad", storedAsBFloat16: true);
        AssertWithinRounding(weightGradView.ToArray(), expectedWeightGrad, weightGradMagnitude, rows + 1, "bf16 weightGrad", storedAsBFloat16: true);
    }

    /// <summary>Each element is summed by one thread in a fixed order, so a second call reproduces every bit.</summary>
    [Test]
    public void RepeatedCallsGiveIdenticalBits()
    {
        const int rows = 300, inDim = 270, outDim = 260;
        var random = new Random(5);
        var (input, weight, outputGrad) = (RandomFloats(random, rows * inDim), RandomFloats(random, outDim * inDim), RandomFloats(random, rows * outDim));
        float[][] Run()
        {
            var (output, inputGrad, weightGrad) = (new float[rows * outDim], new float[rows * inDim], new float[outDim * inDim]);
            FastMatMul.Forward(output, input, weight, rows, inDim, outDim);
            FastMatMul.Backward(inputGrad, weightGrad, outputGrad, input, weight, rows, inDim, outDim);
            return [output, inputGrad, weightGrad];
        }
        var (first, second) = (Run(), Run());
        for (var i = 0; i < first.Length; i++)
            Assert.That(second[i].Select(BitConverter.SingleToInt32Bits), Is.EqualTo(first[i].Select(BitConverter.SingleToInt32Bits)));
    }

    [Test]
    public void TheCpuDeviceIsTheFastPath()
    {
        var ops = Devices.Create("cpu");
        Assert.That(ops, Is.InstanceOf<FastCpuOps>());
        Assert.That(ops.Name, Does.StartWith($"cpu ({FastMatMul.InstructionSet}"));
    }

    private static void AssertWithinRounding(float[] actual, double[] expected, double[] magnitude, int terms, string what, bool storedAsBFloat16 = false)
    {
        var unit = Math.ScaleB(1.0, -24);
        for (var i = 0; i < actual.Length; i++)
        {
            var float32 = (terms + 1) * unit * magnitude[i];
            var tolerance = storedAsBFloat16 ? BFloat16.UnitRoundoff * Math.Abs(expected[i]) + 2 * float32 : float32;
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance), $"{what}[{i}]");
        }
    }

    private static float[] RandomFloats(Random random, int length) =>
        Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    private static double[] Widen(float[] values) => values.Select(x => (double)x).ToArray();

    private static double[] Absolute(float[] values) => values.Select(x => Math.Abs((double)x)).ToArray();
}
