using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;
using GemmLayout = SimNpo.Kernels.MatMul.Ilgpu.GemmLayout;
using GemmShape = SimNpo.Kernels.MatMul.Ilgpu.GemmShape;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The tensor-core GEMM on the NVIDIA-like simulated device (the mma fragment layout needs warps of 32), where its
/// ldmatrix and mma run emulated lane by lane, against a float64 product of the same bfloat16 inputs.
///
/// Bound: a product of two bfloat16 numbers (8 significant bits each) is exact in float32, so the device's only errors are
/// its float32 additions, at most K + 2 of them on any element's path in any order (γ_{K+2}, u = 2⁻²⁴), relative to
/// Σ|a_k b_k| (+ |C| when accumulating); a bfloat16 C then rounds once, by at most 2⁻⁸ of the stored value. So
/// |C − exact| ≤ 2⁻⁸·|exact| + (1 + 2⁻⁸)·(K + 2)·u·(Σ|a_k b_k| + |C₀|). The float64 reference errs by 2⁻⁵³ per term, far
/// below. A dropped or doubled term (inputs around ½ in size) moves an element by ~0.1, hundreds of times the bound.
/// </summary>
public class TensorCoreGemmTests() : CpuAcceleratorFixture(CPUDeviceKind.Nvidia)
{
    private TensorCoreGemm.Launcher _gemm = null!;

    [OneTimeSetUp]
    public void LoadKernel() => _gemm = new TensorCoreGemm.Launcher(Accelerator);

    public static IEnumerable<TestCaseData> Layouts() =>
        from aSpansK in new[] { true, false }
        from bSpansK in new[] { true, false }
        from accumulate in new[] { false, true }
        from floatOutput in new[] { false, true }
        select new TestCaseData(aSpansK, bSpansK, accumulate, floatOutput);

    /// <summary>
    /// M = 37, N = 72, K = 40 on 64 × 64 blocks: two column blocks, the second ragged, rows ending inside the first warp's
    /// third mma tile, and K one full slice plus a quarter (zero-filled).
    /// </summary>
    [TestCaseSource(nameof(Layouts))]
    public void EveryLayoutMatchesTheFloat64Product(bool aSpansK, bool bSpansK, bool accumulate, bool floatOutput) =>
        AssertProduct(37, 72, 40, Layout(aSpansK, bSpansK, accumulate), floatOutput, new TensorCoreGemm.BlockTile(1, 2));

    /// <summary>Several blocks each way with the 128 × 128 and 128 × 64 blocks (8 and 4 warps), K over three slices.</summary>
    [TestCase(2, 4, true, true)]
    [TestCase(2, 4, false, false)]
    [TestCase(2, 2, true, false)]
    public void MultipleBlocksMatchTheFloat64Product(int warpsM, int warpsN, bool aSpansK, bool bSpansK) =>
        AssertProduct(144, 136, 72, Layout(aSpansK, bSpansK, accumulate: true), floatOutput: false, new TensorCoreGemm.BlockTile(warpsM, warpsN));

    /// <summary>
    /// Contiguous extents that are no multiple of 8 (K = 37 along k; M = 27, N = 41 along m and n) leave rows off whole
    /// 16-byte chunks: the operands are copied element by element, the last chunk of each row partly zero-filled.
    /// </summary>
    [TestCase(24, 40, 37, true, true)]
    [TestCase(27, 41, 32, false, false)]
    public void RowsOffWholeChunksMatchTheFloat64Product(int m, int n, int k, bool aSpansK, bool bSpansK) =>
        AssertProduct(m, n, k, Layout(aSpansK, bSpansK, accumulate: true), floatOutput: false, new TensorCoreGemm.BlockTile(1, 2));

    /// <summary>The linear layer's three products through Forward and Backward, with the block the launcher picks.</summary>
    [Test]
    public void ForwardAndBackwardMatchTheFloat64Products()
    {
        const int rows = 37, inDim = 40, outDim = 72;
        var random = new Random(5);
        var (input, weight, outputGrad) = (RandomWords(random, rows * inDim), RandomWords(random, outDim * inDim), RandomWords(random, rows * outDim));
        var (inputGrad, weightGrad) = (RandomWords(random, rows * inDim), RandomWords(random, outDim * inDim));
        var output = Upload(Enumerable.Repeat(BFloat16.FromFloat(float.NaN), rows * outDim).ToArray()); // overwritten, not added to
        _gemm.Forward(output, Upload(input), Upload(weight), rows, inDim, outDim);
        var (inputGradView, weightGradView) = (Upload(inputGrad), Upload(weightGrad));
        _gemm.Backward(inputGradView, weightGradView, Upload(outputGrad), Upload(input), Upload(weight), rows, inDim, outDim);

        AssertWithin(output.GetAsArray(), ExpectedProduct(input, weight, null, new GemmShape(rows, outDim, inDim, GemmLayout.ASpansK | GemmLayout.BSpansK)),
            false);
        AssertWithin(inputGradView.GetAsArray(),
            ExpectedProduct(outputGrad, weight, inputGrad, new GemmShape(rows, inDim, outDim, GemmLayout.ASpansK | GemmLayout.Accumulate)), false);
        AssertWithin(weightGradView.GetAsArray(), ExpectedProduct(outputGrad, input, weightGrad, new GemmShape(outDim, inDim, rows, GemmLayout.Accumulate)),
            false);
    }

    [Test]
    public void AViewOffItsChunkAlignmentMatchesTheFloat64Product()
    {
        const int m = 24, n = 16, k = 32;
        var random = new Random(9);
        var (a, b) = (RandomWords(random, m * k), RandomWords(random, k * n));
        var shape = new GemmShape(m, n, k, GemmLayout.ASpansK | GemmLayout.BSpansK);
        var c = Upload(new ushort[m * n]);
        _gemm.Multiply(c, ArrayView<float>.Empty, Upload(a, offset: 3), Upload(b, offset: 1), shape);
        AssertWithin(c.GetAsArray(), ExpectedProduct(a, b, null, shape), false);
    }

    private void AssertProduct(int m, int n, int k, GemmLayout layout, bool floatOutput, TensorCoreGemm.BlockTile tile)
    {
        var random = new Random(m * 1000 + n + k + (int)layout);
        var (a, b) = (RandomWords(random, m * k), RandomWords(random, k * n));
        var initial = RandomWords(random, m * n);
        var shape = new GemmShape(m, n, k, layout);
        float[] actual;
        if (floatOutput)
        {
            var c = Upload(initial.Select(BFloat16.ToFloat).ToArray());
            _gemm.Multiply(ArrayView<ushort>.Empty, c, Upload(a), Upload(b), shape, tile);
            actual = Download(c);
        }
        else
        {
            var c = Upload(initial);
            _gemm.Multiply(c, ArrayView<float>.Empty, Upload(a), Upload(b), shape, tile);
            actual = c.GetAsArray().Select(BFloat16.ToFloat).ToArray();
        }
        var expected = ExpectedProduct(a, b, layout.HasFlag(GemmLayout.Accumulate) ? initial : null, shape);
        for (var i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected.Values[i]).Within(Tolerance(expected, i, floatOutput)), $"element ({i / n}, {i % n})");
    }

    private static GemmLayout Layout(bool aSpansK, bool bSpansK, bool accumulate) =>
        (aSpansK ? GemmLayout.ASpansK : 0) | (bSpansK ? GemmLayout.BSpansK : 0) | (accumulate ? GemmLayout.Accumulate : 0);

    private static void AssertWithin(ushort[] actual, (double[] Values, double[] Magnitudes, int K) expected, bool floatOutput)
    {
        for (var i = 0; i < actual.Length; i++)
            Assert.That(BFloat16.ToFloat(actual[i]), Is.EqualTo(expected.Values[i]).Within(Tolerance(expected, i, floatOutput)), $"element {i}");
    }

    internal static double Tolerance((double[] Values, double[] Magnitudes, int K) expected, int i, bool floatOutput)
    {
        var sums = (expected.K + 2) * U * expected.Magnitudes[i];
        return floatOutput ? sums : BFloat16.UnitRoundoff * Math.Abs(expected.Values[i]) + (1 + BFloat16.UnitRoundoff) * sums;
    }

    /// <summary>C₀ + Σ_k A[m, k]·B[k, n] in float64, and Σ|A·B| + |C₀|, from the words laid out as the shape says.</summary>
    internal static (double[] Values, double[] Magnitudes, int K) ExpectedProduct(ushort[] a, ushort[] b, ushort[]? initial, GemmShape shape)
    {
        var (m, n, k) = (shape.M, shape.N, shape.K);
        var (values, magnitudes) = (new double[m * n], new double[m * n]);
        for (var row = 0; row < m; row++)
            for (var column = 0; column < n; column++)
            {
                double sum = initial is null ? 0 : BFloat16.ToFloat(initial[row * n + column]), magnitude = Math.Abs(sum);
                for (var depth = 0; depth < k; depth++)
                {
                    double x = BFloat16.ToFloat(a[shape.Has(GemmLayout.ASpansK) ? row * k + depth : depth * m + row]);
                    double y = BFloat16.ToFloat(b[shape.Has(GemmLayout.BSpansK) ? column * k + depth : depth * n + column]);
                    sum += x * y;
                    magnitude += Math.Abs(x * y);
                }
                (values[row * n + column], magnitudes[row * n + column]) = (sum, magnitude);
            }
        return (values, magnitudes, k);
    }

    /// <summary>bfloat16 words of numbers uniform in [−1, 1].</summary>
    internal static ushort[] RandomWords(Random random, int length) => RandomFloats(random, length).Select(BFloat16.FromFloat).ToArray();
}
