using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The loss heads' kernels against their float64 references on ILGPU's CPU accelerator, once on the default simulated
/// device (warps of 4, groups up to 16: a row of 37 is strided through, 3 logits per thread) and once on the NVIDIA-like
/// one (warps of 32: two warps per row, one logit per thread, 27 idle). The vocabulary is a multiple of neither.
/// Every device input is a float32 number, and the reference runs in float64 on the same numbers, so each difference is
/// the device's float32 arithmetic. u = 2⁻²⁴ is float32's unit roundoff.
/// </summary>
[TestFixture(CPUDeviceKind.Default)]
[TestFixture(CPUDeviceKind.Nvidia)]
public class LossKernelTests(CPUDeviceKind kind) : CpuAcceleratorFixture(kind)
{
    internal const int Rows = 5, Vocab = 37;
    internal static readonly int[] Labels = [0, -1, 36, 17, 5];

    /// <summary>Logits in [−3, 3]; row 3 is shifted by 80, where exp would overflow float32 without the running maximum.</summary>
    internal static float[] RandomLogits(int seed)
    {
        var logits = RandomFloats(new Random(seed), Rows * Vocab, 3);
        for (var j = 0; j < Vocab; j++) logits[3 * Vocab + j] += 80;
        return logits;
    }

    [Test]
    public void LogSoftmaxAtLabelsForwardMatchesTheReference()
    {
        var logits = RandomLogits(seed: 1);
        var (logProb, logSumExp) = (Zeros(Rows), Zeros(Rows));
        new LogSoftmaxAtLabels.Ilgpu.Launcher(Accelerator).Forward(logProb, logSumExp, Upload(logits), Upload(Labels), Vocab);

        var (expectedLogProb, expectedLogSumExp) = (new double[Rows], new double[Rows]);
        LogSoftmaxAtLabels.Reference.Forward<double>(expectedLogProb, expectedLogSumExp, Widen(logits), Labels, Vocab);
        var (actualLogProb, actualLogSumExp) = (Download(logProb), Download(logSumExp));
        for (var r = 0; r < Rows; r++)
        {
            Assert.That(actualLogSumExp[r], Is.EqualTo(expectedLogSumExp[r]).Within(LogSumExpTolerance(expectedLogSumExp[r])), $"row {r}");
            Assert.That(actualLogProb[r], Is.EqualTo(expectedLogProb[r]).Within(LogSoftmaxTolerance(expectedLogProb[r])), $"row {r}");
        }
        Assert.That((actualLogProb[1], actualLogSumExp[1]), Is.EqualTo((0.0, 0.0)), "the ignored row");
    }

    [Test]
    public void LogSoftmaxAtLabelsBackwardInPlaceMatchesTheReference()
    {
        var logits = RandomLogits(seed: 2);
        var (expectedLogProb, logSumExp) = (new double[Rows], new double[Rows]);
        LogSoftmaxAtLabels.Reference.Forward<double>(expectedLogProb, logSumExp, Widen(logits), Labels, Vocab);
        double[] logProbGrad = [0.5, 2, -3, 1.5, -0.25];
        var expected = new double[Rows * Vocab];
        LogSoftmaxAtLabels.Reference.Backward<double>(expected, Widen(logits), logSumExp, Labels, logProbGrad, Vocab);

        var launcher = new LogSoftmaxAtLabels.Ilgpu.Launcher(Accelerator);
        var (logitsView, logSumExpView, labels, grad) = (Upload(logits), Upload(Narrow(logSumExp)), Upload(Labels), Upload(Narrow(logProbGrad)));
        var separate = Upload(Enumerable.Repeat(99f, logits.Length).ToArray()); // overwritten, not added to
        launcher.Backward(separate, logitsView, logSumExpView, labels, grad, Vocab);
        launcher.Backward(logitsView, logitsView, logSumExpView, labels, grad, Vocab);

        Assert.That(Download(logitsView), Is.EqualTo(Download(separate)), "in place, each element is read just before it is replaced");
        var actual = Download(separate);
        Assert.That(actual[Vocab..(2 * Vocab)], Is.All.EqualTo(0), "the ignored row");
        // g·p with p = exp(x − lse): lse is the float32 rounding of the reference (u·|lse|, up to 86u on the shifted row), the
        // subtraction and exp add 2u relative; the one-hot term is exact. So |error| ≤ |g|·(|lse| + 3)·u.
        for (var i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(Math.Abs(logProbGrad[i / Vocab]) * (Math.Abs(logSumExp[i / Vocab]) + 3) * U), $"element {i}");
    }

    [Test]
    public void LogSoftmaxSeparateAndInPlaceMatchTheReference()
    {
        var logits = RandomLogits(seed: 3);
        var expected = new double[logits.Length];
        LogSoftmax.Reference.Forward<double>(expected, Widen(logits), Vocab);

        var launcher = new LogSoftmax.Ilgpu.Launcher(Accelerator);
        var (inPlace, separate) = (Upload(logits), Zeros(logits.Length));
        launcher.Forward(separate, inPlace, Vocab);
        launcher.Forward(inPlace, inPlace, Vocab);

        Assert.That(Download(inPlace), Is.EqualTo(Download(separate)));
        var actual = Download(separate);
        for (var i = 0; i < actual.Length; i++) Assert.That(actual[i], Is.EqualTo(expected[i]).Within(LogSoftmaxTolerance(expected[i])), $"element {i}");
    }

    [Test]
    public void KlDivergenceForwardAndBackwardMatchTheReference()
    {
        var logits = RandomLogits(seed: 4);
        var targets = NormalisedTargets(seed: 5);
        // Row 2's target is one-hot: its zero probabilities (t = −∞) must add nothing, not 0·−∞.
        for (var j = 0; j < Vocab; j++) targets[2 * Vocab + j] = j == 7 ? 0 : float.NegativeInfinity;
        var (expectedKl, logSumExp) = (new double[Rows], new double[Rows]);
        KlDivergence.Reference.Forward<double>(expectedKl, logSumExp, Widen(logits), Widen(targets), Vocab);
        double[] rowWeight = [0.5, -2, 3, 1, 0.25];
        var expectedGrad = new double[logits.Length];
        KlDivergence.Reference.Backward<double>(expectedGrad, Widen(logits), logSumExp, Widen(targets), rowWeight, Vocab);

        var launcher = new KlDivergence.Ilgpu.Launcher(Accelerator);
        var (kl, logSumExpView, logitsView, targetsView) = (Zeros(Rows), Zeros(Rows), Upload(logits), Upload(targets));
        launcher.Forward(kl, logSumExpView, logitsView, targetsView, Vocab);
        var actualKl = Download(kl);
        for (var r = 0; r < Rows; r++)
        {
            Assert.That(Download(logSumExpView)[r], Is.EqualTo(logSumExp[r]).Within(LogSumExpTolerance(logSumExp[r])), $"row {r}");
            // Pivoted on the row's first logit x₀, the shift of row 3 cancels: Σ p·(t − (x − x₀)) sums terms with |t − (x − x₀)| ≤ 12
            // and Σ p ≈ 1, so (Vocab + 10)·12u with each term's own roundings (exp(t) within 7u); (lse − x₀) < 10 errs by 2·Vocab·u
            // + 10u and the mass by (Vocab + 7)u, times 10. Under (24·Vocab + 200)u ≈ 6e-5; a dropped term moves it by 1e-3 or more.
            Assert.That(actualKl[r], Is.EqualTo(expectedKl[r]).Within((24 * Vocab + 200) * U), $"row {r}");
        }
        Assert.That(expectedKl[2], Is.EqualTo(logSumExp[2] - logits[2 * Vocab + 7]).Within(1e-12), "one-hot target: −log softmax");

        var separate = Upload(Enumerable.Repeat(99f, logits.Length).ToArray()); // overwritten, not added to
        var weights = Upload(Narrow(rowWeight));
        launcher.Backward(separate, logitsView, Upload(Narrow(logSumExp)), targetsView, weights, Vocab);
        launcher.Backward(logitsView, logitsView, Upload(Narrow(logSumExp)), targetsView, weights, Vocab);
        Assert.That(Download(logitsView), Is.EqualTo(Download(separate)), "in place, each element is read just before it is replaced");
        // Each probability within (|lse| + 3)u relative as in the log-softmax backward, each target's exp within (|t| + 1)u with
        // |t| < 10: |error| ≤ |w|·(|lse| + 14)·u.
        var actualGrad = Download(separate);
        for (var i = 0; i < actualGrad.Length; i++)
            Assert.That(actualGrad[i], Is.EqualTo(expectedGrad[i]).Within(Math.Abs(rowWeight[i / Vocab]) * (Math.Abs(logSumExp[i / Vocab]) + 14) * U),
                $"element {i}");
    }

    [TestCase(8)]
    [TestCase(64)]
    public void ChunkedOutputLossMatchesTheReference(int chunk)
    {
        const int rows = ChunkedOutputLossTests.Rows, dim = ChunkedOutputLossTests.Dim, vocab = ChunkedOutputLossTests.Vocab;
        var labels = ChunkedOutputLossTests.Labels;
        var logProbGrad = ChunkedOutputLossTests.LogProbGrad;
        var (hidden, weight) = ChunkedOutputLossTests.RandomInputs(seed: 6);
        var (expectedLogProb, expectedLogSumExp) = (new double[rows], new double[rows]);
        var scratch = new double[ChunkedOutputLoss.ScratchLength(rows, vocab, chunk)];
        ChunkedOutputLoss.Reference.Forward<double>(expectedLogProb, expectedLogSumExp, scratch, hidden, weight, labels, rows, dim, vocab, chunk);
        // The backwards add: both start from the same nonzero gradients.
        var (initialHiddenGrad, initialWeightGrad) = (Narrow(OpData.Random(new Random(7), rows * dim)), Narrow(OpData.Random(new Random(8), vocab * dim)));
        var (expectedHiddenGrad, expectedWeightGrad) = (Widen(initialHiddenGrad), Widen(initialWeightGrad));
        ChunkedOutputLoss.Reference.Backward<double>(expectedHiddenGrad, expectedWeightGrad, scratch, hidden, weight, expectedLogSumExp, labels, logProbGrad,
            rows, dim, vocab, chunk);

        var launcher = new ChunkedOutputLoss.Ilgpu.Launcher(Accelerator, new MatMul.Ilgpu.Launcher(Accelerator));
        var (hiddenView, weightView, labelsView) = (Upload(Narrow(hidden)), Upload(Narrow(weight)), Upload(labels));
        var (logProb, logSumExp, scratchView) = (Zeros(rows), Zeros(rows), Zeros(scratch.Length));
        launcher.Forward(logProb, logSumExp, scratchView, hiddenView, weightView, labelsView, rows, dim, vocab, chunk);
        var (hiddenGrad, weightGrad) = (Upload(initialHiddenGrad), Upload(initialWeightGrad));
        launcher.Backward(hiddenGrad, weightGrad, scratchView, hiddenView, weightView, logSumExp, labelsView, Upload(Narrow(logProbGrad)), rows, dim, vocab,
            chunk);

        // A logit is a float32 dot product of 13 terms below 1 in size: within 13·13u = 169u. The log-sum-exp moves at most as
        // much as the logits, plus its own float32 error; a log-prob (x − max) − log(sum) carries three such logit errors.
        var (actualLogProb, actualLogSumExp) = (Download(logProb), Download(logSumExp));
        for (var r = 0; r < rows; r++)
        {
            Assert.That(actualLogSumExp[r], Is.EqualTo(expectedLogSumExp[r]).Within(169 * U + LogSumExpTolerance(expectedLogSumExp[r])), $"row {r}");
            Assert.That(actualLogProb[r], Is.EqualTo(expectedLogProb[r]).Within(3 * 169 * U + LogSoftmaxTolerance(expectedLogProb[r])), $"row {r}");
        }
        Assert.That((actualLogProb[1], actualLogSumExp[1]), Is.EqualTo((0.0, 0.0)), "the ignored row");
        // Each logit gradient g·(onehot − p) errs by |g|·p·E, E the relative error of p: two logit errors (the logit's, the
        // log-sum-exp's) and the log-sum-exp's own, 2·169u + 2·Vocab·u + 2·|lse|·u < 460u with |lse| < 20. The gradients sum
        // them against weights and hidden states below 1 (Σ p = 1), plus their float32 sums' roundings (≤ 2·Vocab·u relative
        // to Σ|g·(onehot − p)| ≤ 2|g|): under 600u times |g| of the row (hidden states), or Σ|g| over the rows (weights).
        var actualHiddenGrad = Download(hiddenGrad);
        for (var i = 0; i < actualHiddenGrad.Length; i++)
            Assert.That(actualHiddenGrad[i], Is.EqualTo(expectedHiddenGrad[i]).Within(600 * U * Math.Abs(logProbGrad[i / dim])), $"hidden element {i}");
        var actualWeightGrad = Download(weightGrad);
        var sumOfWeights = logProbGrad.Sum(Math.Abs);
        for (var i = 0; i < actualWeightGrad.Length; i++)
            Assert.That(actualWeightGrad[i], Is.EqualTo(expectedWeightGrad[i]).Within(600 * U * sumOfWeights), $"weight element {i}");
    }

    /// <summary>
    /// The log-sum-exp's error: the sum of exponentials passes through at most vocab additions, merges and exps in float32
    /// on any path (2u relative each, so 2·vocab·u, which log turns into absolute error), then max + log(sum) rounds (u·|lse|).
    /// </summary>
    internal static double LogSumExpTolerance(double lse, int vocab = Vocab) => (2 * vocab + Math.Abs(lse)) * U;

    /// <summary>
    /// A log-probability taken as (x − max) − log(sum): the log's error as above, and two roundings each below u·|result|
    /// (both parts are smaller than the result in size), so the logits' offset (80 on row 3) does not enter.
    /// </summary>
    internal static double LogSoftmaxTolerance(double logProb, int vocab = Vocab) => (2 * vocab + 2 * Math.Abs(logProb) + 1) * U;

    /// <summary>Float32 log-softmax targets of random logits in [−1, 1], normalised in float64 before the rounding.</summary>
    internal static float[] NormalisedTargets(int seed)
    {
        var logits = Widen(RandomFloats(new Random(seed), Rows * Vocab, 1));
        var logProbs = new double[logits.Length];
        LogSoftmax.Reference.Forward<double>(logProbs, logits, Vocab);
        return Narrow(logProbs);
    }

    internal static double[] Widen(float[] values) => values.Select(x => (double)x).ToArray();

    internal static float[] Narrow(double[] values) => values.Select(x => (float)x).ToArray();

    private ArrayView<float> Zeros(int length) => Upload(new float[length]);

    private static new double[] Download(ArrayView<float> view) => Widen(CpuAcceleratorFixture.Download(view));
}
