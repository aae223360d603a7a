using ILGPU;
using ILGPU.Runtime.CPU;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The tiled SGEMM's three products against <see cref="MatMul.Reference"/>. Tiles are 32×32 on the default simulated device
/// (4×4 threads) and 128×128 on the NVIDIA-like one (16×16 threads), K slices 8 deep. Shapes: 37×45→29 is a multiple of
/// nothing (scalar loads, ragged tiles and slices, two row tiles on the default device); 20×24→36 has every contiguous
/// extent a multiple of 4 (16-byte loads, three K slices); one row is the decoding case.
///
/// Bound: a float32 dot product of length n, summed in any order, is within n·u·Σ|a_k b_k| of the exact value (γ_n);
/// kernel and reference each are, plus one rounding each for adding into the gradient, so they agree within
/// 2(n + 1)·u·(Σ|a_k b_k| + |initial|) element by element. Σ|a_k b_k| is the same product of the absolute values.
/// </summary>
[TestFixture(CPUDeviceKind.Default)]
[TestFixture(CPUDeviceKind.Nvidia)]
public class MatMulKernelTests(CPUDeviceKind kind) : CpuAcceleratorFixture(kind)
{
    private MatMul.Ilgpu.Launcher _kernels = null!;

    [OneTimeSetUp]
    public void LoadKernels() => _kernels = new MatMul.Ilgpu.Launcher(Accelerator);

    [TestCase(37, 45, 29)]
    [TestCase(20, 24, 36)]
    [TestCase(1, 12, 7)]
    public void ForwardMatchesTheReference(int rows, int inDim, int outDim)
    {
        var random = new Random(rows);
        var (input, weight) = (RandomFloats(random, rows * inDim), RandomFloats(random, outDim * inDim));
        var output = Upload(Enumerable.Repeat(float.NaN, rows * outDim).ToArray()); // overwritten, not added to
        _kernels.Forward(output, Upload(input), Upload(weight), rows, inDim, outDim);

        var expected = new float[rows * outDim];
        MatMul.Reference.Forward<float>(expected, input, weight, rows, inDim, outDim);
        var magnitudes = new float[rows * outDim];
        MatMul.Reference.Forward<float>(magnitudes, Abs(input), Abs(weight), rows, inDim, outDim);
        AssertWithin(Download(output), expected, magnitudes, inDim);
    }

    /// <summary>The offset views start 4 bytes off a 16-byte boundary, where the kernel must fall back to scalar loads.</summary>
    [TestCase(37, 45, 29, 0)]
    [TestCase(20, 24, 36, 0)]
    [TestCase(20, 24, 36, 1)]
    [TestCase(1, 12, 7, 0)]
    public void BackwardAddsTheReferenceGradients(int rows, int inDim, int outDim, int offset)
    {
        var random = new Random(rows + offset);
        var (input, weight, outputGrad) = (RandomFloats(random, rows * inDim), RandomFloats(random, outDim * inDim), RandomFloats(random, rows * outDim));
        var (inputGrad, weightGrad) = (RandomFloats(random, rows * inDim), RandomFloats(random, outDim * inDim));
        var (inputGradView, weightGradView) = (Upload(inputGrad, offset), Upload(weightGrad, offset));
        _kernels.Backward(inputGradView, weightGradView, Upload(outputGrad, offset), Upload(input, offset), Upload(weight, offset), rows, inDim, outDim);

        var (expectedInputGrad, expectedWeightGrad) = ((float[])inputGrad.Clone(), (float[])weightGrad.Clone());
        MatMul.Reference.Backward<float>(expectedInputGrad, expectedWeightGrad, outputGrad, input, weight, rows, inDim, outDim);
        var (inputMagnitudes, weightMagnitudes) = (Abs(inputGrad), Abs(weightGrad));
        MatMul.Reference.Backward<float>(inputMagnitudes, weightMagnitudes, Abs(outputGrad), Abs(input), Abs(weight), rows, inDim, outDim);
        AssertWithin(Download(inputGradView), expectedInputGrad, inputMagnitudes, outDim);
        AssertWithin(Download(weightGradView), expectedWeightGrad, weightMagnitudes, rows);
    }

    private static float[] Abs(float[] values) => values.Select(MathF.Abs).ToArray();

    /// <summary>magnitudes[i] = Σ|a_k b_k| (+ |initial|) of element i, a sum of n products.</summary>
    private static void AssertWithin(float[] actual, float[] expected, float[] magnitudes, int n)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        for (var i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(2 * (n + 1) * U * magnitudes[i]), $"element {i}");
    }
}
