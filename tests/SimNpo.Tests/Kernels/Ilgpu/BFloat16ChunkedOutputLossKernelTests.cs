using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The chunked output loss on bfloat16 hidden states and weight (the tensor-core GEMM's chunks, so the NVIDIA-like simulated
/// device) against the float64 reference run on the same bfloat16 numbers, with the shapes of
/// <see cref="ChunkedOutputLossTests"/>: 6 rows (one ignored), width 13, vocabulary 37 in chunks of 16 (16, 16, 5); with and
/// without a bfloat16 lm_head bias.
/// </summary>
public class BFloat16ChunkedOutputLossKernelTests() : CpuAcceleratorFixture(CPUDeviceKind.Nvidia)
{
    /// <summary>Also with the chunk products widened onto the SGEMM (<see cref="WidenedGemm"/>), the path of devices without warps of 32.</summary>
    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void ForwardAndBackwardMatchTheFloat64Reference(bool widened, bool withBias)
    {
        const int rows = ChunkedOutputLossTests.Rows, dim = ChunkedOutputLossTests.Dim, vocab = ChunkedOutputLossTests.Vocab, chunk = 16;
        var (labels, logProbGrad) = (ChunkedOutputLossTests.Labels, ChunkedOutputLossTests.LogProbGrad);
        var random = new Random(11);
        var (hidden, weight) = (TensorCoreGemmTests.RandomWords(random, rows * dim), TensorCoreGemmTests.RandomWords(random, vocab * dim));
        var (initialHiddenGrad, initialWeightGrad) = (TensorCoreGemmTests.RandomWords(random, rows * dim),
            TensorCoreGemmTests.RandomWords(random, vocab * dim));

        var biasRandom = new Random(12);
        var (bias, initialBiasGrad) = (TensorCoreGemmTests.RandomWords(biasRandom, vocab), TensorCoreGemmTests.RandomWords(biasRandom, vocab));

        var (expectedLogProb, expectedLogSumExp) = (new double[rows], new double[rows]);
        var scratch = new double[ChunkedOutputLoss.ScratchLength(rows, vocab, chunk)];
        var expectedBias = ChunkedOutputLossTests.OptionalInput(withBias ? Widen(bias) : null);
        ChunkedOutputLoss.Reference.Forward<double>(expectedLogProb, expectedLogSumExp, scratch, Widen(hidden), Widen(weight), expectedBias, labels, rows, dim,
            vocab, chunk);
        var (expectedHiddenGrad, expectedWeightGrad, expectedBiasGrad) = (Widen(initialHiddenGrad), Widen(initialWeightGrad), Widen(initialBiasGrad));
        ChunkedOutputLoss.Reference.Backward<double>(expectedHiddenGrad, expectedWeightGrad, scratch, Widen(hidden), Widen(weight), expectedBias,
            ChunkedOutputLossTests.Optional(withBias ? expectedBiasGrad : null), expectedLogSumExp, labels, logProbGrad, rows, dim, vocab, chunk);

        var sgemm = new MatMul.Ilgpu.Launcher(Accelerator);
        var conversion = new SimNpo.Kernels.Conversion.Ilgpu.Launcher(Accelerator);
        var launcher = new ChunkedOutputLoss.Ilgpu.Launcher(Accelerator, sgemm,
            widened ? new Lazy<IBFloat16Gemm>(new WidenedGemm(Accelerator, sgemm, conversion, new AllocatedBytes())) : null);
        var (hiddenView, weightView, labelsView) = (Upload(hidden), Upload(weight), Upload(labels));
        var (logProb, logSumExp, scratchView) = (Upload(new float[rows]), Upload(new float[rows]), Upload(new float[scratch.Length]));
        var (biasView, biasGrad) = withBias ? (Upload(bias), Upload(initialBiasGrad)) : ((ArrayView<ushort>?)null, (ArrayView<ushort>?)null);
        launcher.Forward(logProb, logSumExp, scratchView, hiddenView, weightView, biasView, labelsView, rows, dim, vocab, chunk);
        var (hiddenGrad, weightGrad) = (Upload(initialHiddenGrad), Upload(initialWeightGrad));
        launcher.Backward(hiddenGrad, weightGrad, scratchView, hiddenView, weightView, biasView, biasGrad, logSumExp, labelsView,
            Upload(logProbGrad.Select(g => (float)g).ToArray()),
            rows, dim, vocab, chunk);

        // A logit is a float32 sum of 13 exact products below 1 (bfloat16 × bfloat16 fits float32), in any order: within (13 + 2)·13u = 195u;
        // a bias below 1 adds one more rounding of a value below 14: 209u. The log-sum-exp and log-prob then carry it as in
        // ChunkedOutputLossKernelTests (one and three logit errors).
        var logitError = (withBias ? 209 : 195) * U;
        var (actualLogProb, actualLogSumExp) = (Download(logProb), Download(logSumExp));
        for (var r = 0; r < rows; r++)
        {
            Assert.That(actualLogSumExp[r],
                Is.EqualTo(expectedLogSumExp[r]).Within(logitError + LogSoftmaxAtLabelsCase.LogSumExpBound(expectedLogSumExp[r], vocab)), $"row {r}");
            Assert.That(actualLogProb[r],
                Is.EqualTo(expectedLogProb[r]).Within(3 * logitError + LogSoftmaxAtLabelsCase.LogSoftmaxBound(expectedLogProb[r], vocab)), $"row {r}");
        }
        Assert.That((actualLogProb[1], actualLogSumExp[1]), Is.EqualTo((0f, 0f)), "the ignored row");

        // The logit gradient g·(onehot − p) is stored in bfloat16: 2⁻⁸ of each element, whose sizes sum to 2|g|(1 − p_label) ≤ 2|g|
        // over a row and to at most Σ_r |g_r| down a column; its float32 error (< 600u·|g| as in ChunkedOutputLossKernelTests) and the
        // products' float32 sums (≤ (37 + 2)u·2|g|, (6 + 2)u·Σ|g|) are smaller; the stored gradient then rounds once more, by
        // 2⁻⁸ of the computed value, i.e. of the exact one plus (1 + 2⁻⁸) times those errors (2⁻⁸·2·2⁻⁸ = 512u). Inputs below 1
        // in size, so: hidden ≤ 2⁻⁸·|exact| + (2·2⁻⁸ + 1300u)·|g_r|; weight ≤ 2⁻⁸·|exact| + (2⁻⁸ + 1300u)·Σ|g|.
        const double b = BFloat16.UnitRoundoff;
        var actualHiddenGrad = hiddenGrad.GetAsArray().Select(BFloat16.ToFloat).ToArray();
        for (var i = 0; i < actualHiddenGrad.Length; i++)
            Assert.That(actualHiddenGrad[i], Is.EqualTo(expectedHiddenGrad[i])
                .Within(b * Math.Abs(expectedHiddenGrad[i]) + (2 * b + 1300 * U) * Math.Abs(logProbGrad[i / dim])), $"hidden element {i}");
        var actualWeightGrad = weightGrad.GetAsArray().Select(BFloat16.ToFloat).ToArray();
        var sumOfWeights = logProbGrad.Sum(Math.Abs);
        for (var i = 0; i < actualWeightGrad.Length; i++)
            Assert.That(actualWeightGrad[i], Is.EqualTo(expectedWeightGrad[i]).Within(b * Math.Abs(expectedWeightGrad[i]) + (b + 1300 * U) * sumOfWeights),
                $"weight element {i}");
        // The bias gradient sums the float32 logit gradients (not their bfloat16 copies) down each column, within 1300u·Σ|g| in
        // float32 as the weights' products are, and is stored once: 2⁻⁸·|exact| + 2·1300u·Σ|g|.
        if (biasGrad is not { } biasGradView) return;
        var actualBiasGrad = biasGradView.GetAsArray().Select(BFloat16.ToFloat).ToArray();
        for (var i = 0; i < vocab; i++)
            Assert.That(actualBiasGrad[i], Is.EqualTo(expectedBiasGrad[i]).Within(b * Math.Abs(expectedBiasGrad[i]) + 2 * 1300 * U * sumOfWeights),
                $"bias element {i}");
    }

    private static double[] Widen(ushort[] words) => words.Select(w => (double)BFloat16.ToFloat(w)).ToArray();
}
