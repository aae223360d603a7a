using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Tests.Kernels.Ilgpu;

namespace SimNpo.Tests.Kernels.Cpu;

/// <summary>
/// The fast CPU loss heads against their float64 references on the same float32 data, with the data and the tolerances of
/// the device kernels' tests (<see cref="LossKernelTests"/>, derived there for float32 sums; the fast rows sum their
/// exponentials in float64 lanes and stay inside them): logits in [−3, 3] with one row shifted by 80, a vocabulary of 37
/// (no multiple of the vector width), an ignored row. The backwards that overwrite must give the same bits in place.
/// </summary>
public class FastLossTests
{
    private const double U = 1.0 / (1 << 24);
    private const int Rows = LossKernelTests.Rows, Vocab = LossKernelTests.Vocab;
    private static readonly int[] Labels = LossKernelTests.Labels;

    private readonly IOps<float> _ops = new FastCpuOps();

    [Test]
    public void LogSoftmaxAtLabelsMatchesTheReference() => LossHeadChecks.LogSoftmaxAtLabelsMatchesTheReference(_ops, Storage.Native);

    [Test]
    public void LogSoftmaxSeparateAndInPlaceMatchTheReference() => LossHeadChecks.LogSoftmaxSeparateAndInPlaceMatchTheReference(_ops, Storage.Native);

    /// <summary>
    /// The forward's terms are formed in float64 from float32 inputs, so its error is the exponentials' (3u relative, on a
    /// mass of 1) and the log-sum-exp's, (2·Vocab + |lse|)·u, times |t − x + lse| &lt; 100: inside the device bound
    /// (24·Vocab + 200)·u. The backward's bound is the device's, |w|·(|lse| + 14)·u.
    /// </summary>
    [Test]
    public void KlDivergenceMatchesTheReference() => LossHeadChecks.KlDivergenceMatchesTheReference(_ops, Storage.Native);

    public static IEnumerable<TestCaseData> OutputLossCases()
    {
        yield return new TestCaseData(ChunkedOutputLossTests.Rows, ChunkedOutputLossTests.Dim, ChunkedOutputLossTests.Vocab, 8).SetArgDisplayNames("6x13, 37 in chunks of 8");
        yield return new TestCaseData(ChunkedOutputLossTests.Rows, ChunkedOutputLossTests.Dim, ChunkedOutputLossTests.Vocab, 64).SetArgDisplayNames("one chunk");
        // Two 192-row GEMM blocks, a ragged last chunk, and four ranges of rows (54 each, the last shorter) for the row passes.
        yield return new TestCaseData(200, 40, 1000, 300).SetArgDisplayNames("200x40, 1000 in chunks of 300");
    }

    /// <summary>
    /// Tolerances as <see cref="LossKernelTests"/> derives them, for any size: a logit is a float32 dot product of dim terms
    /// below 1 in size, within dim²·u; the log-sum-exp moves as much plus its own error, a log-prob three logit errors plus
    /// its own. A probability's relative error E = 2·dim²·u + 2·vocab·u + 2·|lse|·u (two logits, the log-sum-exp), and
    /// the gradients sum g·(onehot − p) (Σ|·| ≤ 2|g|) against values below 1 in float32: the hidden states' gradients over
    /// the vocabulary, |g|·(E + 2·vocab·u) per row; the weights' over the rows, (E + 2·rows·u)·Σ|g|; then each is added to
    /// its starting value below 1, a rounding of a sum below 2 (2u).
    /// </summary>
    [TestCaseSource(nameof(OutputLossCases))]
    public void ChunkedOutputLossMatchesTheReference(int rows, int dim, int vocab, int chunk)
    {
        var random = new Random(rows + chunk);
        var (hidden, weight) = (OpData.Random(random, rows * dim), OpData.Random(random, vocab * dim));
        var labels = Enumerable.Range(0, rows).Select(r => r % 5 == 1 ? -1 : random.Next(vocab)).ToArray();
        var logProbGrad = OpData.Random(random, rows, 3);
        var (initialHiddenGrad, initialWeightGrad) = (OpData.Random(random, rows * dim), OpData.Random(random, vocab * dim));
        var (expectedLogProb, expectedLogSumExp) = (new double[rows], new double[rows]);
        var scratch = new double[ChunkedOutputLoss.ScratchLength(rows, vocab, chunk)];
        ChunkedOutputLoss.Reference.Forward<double>(expectedLogProb, expectedLogSumExp, scratch, hidden, weight, labels, rows, dim, vocab, chunk);
        var (expectedHiddenGrad, expectedWeightGrad) = (initialHiddenGrad.ToArray(), initialWeightGrad.ToArray());
        ChunkedOutputLoss.Reference.Backward<double>(expectedHiddenGrad, expectedWeightGrad, scratch, hidden, weight, expectedLogSumExp, labels, logProbGrad,
            rows, dim, vocab, chunk);

        var (hiddenView, weightView, labelsView) = (_ops.Upload(hidden), _ops.Upload(weight), _ops.UploadInts(labels));
        var (logProb, logSumExp, scratchView) = (_ops.Allocate(rows).All, _ops.Allocate(rows).All, _ops.Allocate(scratch.Length).All);
        _ops.ChunkedOutputLoss(logProb, logSumExp, scratchView, hiddenView, weightView, labelsView, rows, dim, vocab, chunk);
        var (hiddenGrad, weightGrad) = (_ops.Upload(initialHiddenGrad), _ops.Upload(initialWeightGrad));
        _ops.ChunkedOutputLossBackward(hiddenGrad, weightGrad, scratchView, hiddenView, weightView, logSumExp, labelsView, _ops.Upload(logProbGrad),
            rows, dim, vocab, chunk);

        var logitError = (double)dim * dim * U;
        var (actualLogProb, actualLogSumExp) = (OpData.Download(logProb), OpData.Download(logSumExp));
        for (var r = 0; r < rows; r++)
        {
            Assert.That(actualLogSumExp[r], Is.EqualTo(expectedLogSumExp[r]).Within(logitError + LossKernelTests.LogSumExpTolerance(expectedLogSumExp[r], vocab)), $"row {r}");
            Assert.That(actualLogProb[r], Is.EqualTo(expectedLogProb[r]).Within(3 * logitError + LossKernelTests.LogSoftmaxTolerance(expectedLogProb[r], vocab)), $"row {r}");
            if (labels[r] < 0) Assert.That((actualLogProb[r], actualLogSumExp[r]), Is.EqualTo((0.0, 0.0)), $"ignored row {r}");
        }
        var probabilityError = 2 * logitError + (2 * vocab + 2 * expectedLogSumExp.Max(Math.Abs)) * U;
        var actualHiddenGrad = OpData.Download(hiddenGrad);
        for (var i = 0; i < actualHiddenGrad.Length; i++)
            Assert.That(actualHiddenGrad[i], Is.EqualTo(expectedHiddenGrad[i]).Within(Math.Abs(logProbGrad[i / dim]) * (probabilityError + 2 * vocab * U) + 2 * U),
                $"hidden element {i}");
        var actualWeightGrad = OpData.Download(weightGrad);
        var sumOfWeights = logProbGrad.Where((_, r) => labels[r] >= 0).Sum(Math.Abs);
        for (var i = 0; i < actualWeightGrad.Length; i++)
            Assert.That(actualWeightGrad[i], Is.EqualTo(expectedWeightGrad[i]).Within((probabilityError + 2 * rows * U) * sumOfWeights + 2 * U), $"weight element {i}");
    }

    private static double[] Widen(float[] values) => LossKernelTests.Widen(values);
}
