using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The chunked output loss's kernels (the SGEMM's chunks of logits and the loss rows) against the float64 reference on
/// ILGPU's two simulated devices, with the shapes of <see cref="ChunkedOutputLossTests"/>: 6 rows (one ignored), width 13,
/// vocabulary 37 (a multiple of neither warp) in chunks of 8, or one chunk; with and without an lm_head bias. Every device input is a float32 number, and the
/// reference runs in float64 on the same numbers, so each difference is the device's float32 arithmetic; u = 2⁻²⁴.
/// </summary>
[TestFixture(CPUDeviceKind.Default)]
[TestFixture(CPUDeviceKind.Nvidia)]
public class ChunkedOutputLossKernelTests(CPUDeviceKind kind) : CpuAcceleratorFixture(kind)
{
    [TestCase(8, false)]
    [TestCase(64, false)]
    [TestCase(8, true)]
    [TestCase(64, true)]
    public void ChunkedOutputLossMatchesTheReference(int chunk, bool withBias)
    {
        const int rows = ChunkedOutputLossTests.Rows, dim = ChunkedOutputLossTests.Dim, vocab = ChunkedOutputLossTests.Vocab;
        var labels = ChunkedOutputLossTests.Labels;
        var logProbGrad = ChunkedOutputLossTests.LogProbGrad;
        var (hidden, weight) = ChunkedOutputLossTests.RandomInputs(seed: 6);
        var bias = withBias ? ChunkedOutputLossTests.RandomBias(seed: 9) : null;
        var (expectedLogProb, expectedLogSumExp) = (new double[rows], new double[rows]);
        var scratch = new double[ChunkedOutputLoss.ScratchLength(rows, vocab, chunk)];
        ChunkedOutputLoss.Reference.Forward<double>(expectedLogProb, expectedLogSumExp, scratch, hidden, weight, ChunkedOutputLossTests.OptionalInput(bias), labels,
            rows, dim, vocab, chunk);
        // The backwards add: both start from the same nonzero gradients.
        var (initialHiddenGrad, initialWeightGrad) = (Narrow(OpData.Random(new Random(7), rows * dim)), Narrow(OpData.Random(new Random(8), vocab * dim)));
        var initialBiasGrad = Narrow(OpData.Random(new Random(10), vocab));
        var (expectedHiddenGrad, expectedWeightGrad, expectedBiasGrad) = (Widen(initialHiddenGrad), Widen(initialWeightGrad), Widen(initialBiasGrad));
        ChunkedOutputLoss.Reference.Backward<double>(expectedHiddenGrad, expectedWeightGrad, scratch, hidden, weight, ChunkedOutputLossTests.OptionalInput(bias),
            ChunkedOutputLossTests.Optional(withBias ? expectedBiasGrad : null), expectedLogSumExp, labels, logProbGrad, rows, dim, vocab, chunk);

        var launcher = new ChunkedOutputLoss.Ilgpu.Launcher(Accelerator, new MatMul.Ilgpu.Launcher(Accelerator));
        var (hiddenView, weightView, labelsView) = (Upload(Narrow(hidden)), Upload(Narrow(weight)), Upload(labels));
        var (biasView, biasGrad) = withBias ? (Upload(Narrow(bias!)), Upload(initialBiasGrad)) : ((ArrayView<float>?)null, (ArrayView<float>?)null);
        var (logProb, logSumExp, scratchView) = (Zeros(rows), Zeros(rows), Zeros(scratch.Length));
        launcher.Forward(logProb, logSumExp, scratchView, hiddenView, weightView, biasView, labelsView, rows, dim, vocab, chunk);
        var (hiddenGrad, weightGrad) = (Upload(initialHiddenGrad), Upload(initialWeightGrad));
        launcher.Backward(hiddenGrad, weightGrad, scratchView, hiddenView, weightView, biasView, biasGrad, logSumExp, labelsView, Upload(Narrow(logProbGrad)),
            rows, dim, vocab, chunk);

        // A logit is a float32 dot product of 13 terms below 1 in size: within 13·13u = 169u; a bias below 1 adds one more
        // rounding of a value below 14: 183u. The log-sum-exp moves at most as much as the logits, plus its own float32
        // error; a log-prob (x − max) − log(sum) carries three such logit errors.
        var logitError = (withBias ? 183 : 169) * U;
        var (actualLogProb, actualLogSumExp) = (Download(logProb), Download(logSumExp));
        for (var r = 0; r < rows; r++)
        {
            Assert.That(actualLogSumExp[r], Is.EqualTo(expectedLogSumExp[r]).Within(logitError + LogSumExpTolerance(expectedLogSumExp[r])), $"row {r}");
            Assert.That(actualLogProb[r], Is.EqualTo(expectedLogProb[r]).Within(3 * logitError + LogSoftmaxTolerance(expectedLogProb[r])), $"row {r}");
        }
        Assert.That((actualLogProb[1], actualLogSumExp[1]), Is.EqualTo((0.0, 0.0)), "the ignored row");
        // Each logit gradient g·(onehot − p) errs by |g|·p·E, E the relative error of p: two logit errors (the logit's, the
        // log-sum-exp's) and the log-sum-exp's own, 2·183u + 2·Vocab·u + 2·|lse|·u < 520u with |lse| < 20. The gradients sum
        // them against weights and hidden states below 1 (Σ p = 1), plus their float32 sums' roundings (≤ 2·Vocab·u relative
        // to Σ|g·(onehot − p)| ≤ 2|g|): under 600u times |g| of the row (hidden states), or Σ|g| over the rows (weights).
        var actualHiddenGrad = Download(hiddenGrad);
        for (var i = 0; i < actualHiddenGrad.Length; i++)
            Assert.That(actualHiddenGrad[i], Is.EqualTo(expectedHiddenGrad[i]).Within(600 * U * Math.Abs(logProbGrad[i / dim])), $"hidden element {i}");
        var actualWeightGrad = Download(weightGrad);
        var sumOfWeights = logProbGrad.Sum(Math.Abs);
        for (var i = 0; i < actualWeightGrad.Length; i++)
            Assert.That(actualWeightGrad[i], Is.EqualTo(expectedWeightGrad[i]).Within(600 * U * sumOfWeights), $"weight element {i}");
        // The bias gradient sums the same logit gradients down each column (rows in order, float32): as the weights'.
        if (biasGrad is not { } biasGradView) return;
        var actualBiasGrad = Download(biasGradView);
        for (var i = 0; i < vocab; i++)
            Assert.That(actualBiasGrad[i], Is.EqualTo(expectedBiasGrad[i]).Within(600 * U * sumOfWeights), $"bias element {i}");
    }

    private static double LogSumExpTolerance(double lse) => LogSoftmaxAtLabelsCase.LogSumExpBound(lse, ChunkedOutputLossTests.Vocab);

    private static double LogSoftmaxTolerance(double logProb) => LogSoftmaxAtLabelsCase.LogSoftmaxBound(logProb, ChunkedOutputLossTests.Vocab);

    internal static double[] Widen(float[] values) => values.Select(x => (double)x).ToArray();

    internal static float[] Narrow(double[] values) => values.Select(x => (float)x).ToArray();

    private ArrayView<float> Zeros(int length) => Upload(new float[length]);

    private static new double[] Download(ArrayView<float> view) => Widen(CpuAcceleratorFixture.Download(view));
}
