using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;

namespace SimNpo.Tests.Kernels.Cpu;

/// <summary>
/// The fast CPU chunked output loss against its float64 reference on the same float32 data (the loss heads' cases run in
/// <see cref="OpAgreementTests"/>), with the tolerances the device kernels' tests derive for float32 sums
/// (<see cref="Ilgpu.ChunkedOutputLossKernelTests"/>). Each runs twice: float32 storage, and bfloat16 storage of the hidden
/// states, weights and their gradients (statistics float32), with every input rounded to bfloat16 first so the reference
/// sees the same numbers; a stored bfloat16 result is the float32 one rounded once, so its bound gains 2⁻⁸ of that value
/// (<see cref="Stored"/>).
/// </summary>
public class FastLossTests
{
    private const double U = 1.0 / (1 << 24);

    private readonly IOps<float> _ops = new FastCpuOps();

    public static IEnumerable<TestCaseData> OutputLossCases() =>
        from storage in new[] { Storage.Native, Storage.BFloat16 }
        from shape in new (int Rows, int Dim, int Vocab, int Chunk, bool Bias, string Name)[]
        {
            (ChunkedOutputLossTests.Rows, ChunkedOutputLossTests.Dim, ChunkedOutputLossTests.Vocab, 8, false, "6x13, 37 in chunks of 8"),
            (ChunkedOutputLossTests.Rows, ChunkedOutputLossTests.Dim, ChunkedOutputLossTests.Vocab, 64, false, "one chunk"),
            // Two 192-row GEMM blocks, a ragged last chunk, and four ranges of rows (54 each, the last shorter) for the row passes.
            (200, 40, 1000, 300, false, "200x40, 1000 in chunks of 300"),
            // With Phi's lm_head bias: the small chunks, and the ragged chunks over several ranges of the bias's column sums.
            (ChunkedOutputLossTests.Rows, ChunkedOutputLossTests.Dim, ChunkedOutputLossTests.Vocab, 8, true, "6x13, 37 in chunks of 8, bias"),
            (200, 40, 1000, 300, true, "200x40, 1000 in chunks of 300, bias"),
        }
        select new TestCaseData(shape.Rows, shape.Dim, shape.Vocab, shape.Chunk, shape.Bias, storage).SetArgDisplayNames(shape.Name, storage.ToString());

    /// <summary>
    /// Tolerances as <see cref="Ilgpu.ChunkedOutputLossKernelTests"/> derives them, for any size: a logit is a float32 dot product of dim terms
    /// below 1 in size, within dim²·u; the log-sum-exp moves as much plus its own error, a log-prob three logit errors plus
    /// its own. A probability's relative error E = 2·dim²·u + 2·vocab·u + 2·|lse|·u (two logits, the log-sum-exp), and
    /// the gradients sum g·(onehot − p) (Σ|·| ≤ 2|g|) against values below 1 in float32: the hidden states' gradients over
    /// the vocabulary, |g|·(E + 2·vocab·u) per row; the weights' over the rows, (E + 2·rows·u)·Σ|g|; then each is added to
    /// its starting value below 1, a rounding of a sum below 2 (2u). Stored as bfloat16, each gradient is that float32
    /// result rounded once (the hidden states' summed over every chunk first). A bias below 1 adds one rounding of a logit
    /// below dim + 1, (dim + 1)·u, to every logit; its gradient sums the logit gradients down the rows, as the weights'.
    /// </summary>
    [TestCaseSource(nameof(OutputLossCases))]
    public void ChunkedOutputLossMatchesTheReference(int rows, int dim, int vocab, int chunk, bool withBias, Storage storage)
    {
        var random = new Random(rows + chunk);
        var (hidden, weight) = (InStorage(storage, OpData.Random(random, rows * dim)), InStorage(storage, OpData.Random(random, vocab * dim)));
        var labels = Enumerable.Range(0, rows).Select(r => r % 5 == 1 ? -1 : random.Next(vocab)).ToArray();
        var logProbGrad = OpData.Random(random, rows, 3);
        var (initialHiddenGrad, initialWeightGrad) = (InStorage(storage, OpData.Random(random, rows * dim)),
            InStorage(storage, OpData.Random(random, vocab * dim)));
        var (bias, initialBiasGrad) = (InStorage(storage, OpData.Random(random, vocab)), InStorage(storage, OpData.Random(random, vocab)));
        var (expectedLogProb, expectedLogSumExp) = (new double[rows], new double[rows]);
        var scratch = new double[ChunkedOutputLoss.ScratchLength(rows, vocab, chunk)];
        var expectedBias = ChunkedOutputLossTests.OptionalInput(withBias ? bias : null);
        ChunkedOutputLoss.Reference.Forward<double>(expectedLogProb, expectedLogSumExp, scratch, hidden, weight, expectedBias, labels, rows, dim, vocab, chunk);
        var (expectedHiddenGrad, expectedWeightGrad, expectedBiasGrad) = (initialHiddenGrad.ToArray(), initialWeightGrad.ToArray(), initialBiasGrad.ToArray());
        ChunkedOutputLoss.Reference.Backward<double>(expectedHiddenGrad, expectedWeightGrad, scratch, hidden, weight, expectedBias,
            ChunkedOutputLossTests.Optional(withBias ? expectedBiasGrad : null), expectedLogSumExp, labels, logProbGrad, rows, dim, vocab, chunk);

        var (hiddenView, weightView, labelsView) = (_ops.Upload(storage, hidden), _ops.Upload(storage, weight), _ops.UploadInts(labels));
        var (biasView, biasGrad) = withBias ? (_ops.Upload(storage, bias), _ops.Upload(storage, initialBiasGrad)) : ((View<float>?)null, (View<float>?)null);
        var (logProb, logSumExp, scratchView) = (_ops.Allocate(rows).All, _ops.Allocate(rows).All, _ops.Allocate(scratch.Length).All);
        _ops.ChunkedOutputLoss(logProb, logSumExp, scratchView, hiddenView, weightView, biasView, labelsView, rows, dim, vocab, chunk);
        var (hiddenGrad, weightGrad) = (_ops.Upload(storage, initialHiddenGrad), _ops.Upload(storage, initialWeightGrad));
        _ops.ChunkedOutputLossBackward(hiddenGrad, weightGrad, scratchView, hiddenView, weightView, biasView, biasGrad, logSumExp, labelsView,
            _ops.Upload(logProbGrad), rows, dim, vocab, chunk);

        var logitError = (double)dim * dim * U + (withBias ? (dim + 1) * U : 0);
        var (actualLogProb, actualLogSumExp) = (OpData.Download(logProb), OpData.Download(logSumExp));
        for (var r = 0; r < rows; r++)
        {
            Assert.That(actualLogSumExp[r],
                Is.EqualTo(expectedLogSumExp[r]).Within(logitError + LogSoftmaxAtLabelsCase.LogSumExpBound(expectedLogSumExp[r], vocab)), $"row {r}");
            Assert.That(actualLogProb[r],
                Is.EqualTo(expectedLogProb[r]).Within(3 * logitError + LogSoftmaxAtLabelsCase.LogSoftmaxBound(expectedLogProb[r], vocab)), $"row {r}");
            if (labels[r] < 0) Assert.That((actualLogProb[r], actualLogSumExp[r]), Is.EqualTo((0.0, 0.0)), $"ignored row {r}");
        }
        var probabilityError = 2 * logitError + (2 * vocab + 2 * expectedLogSumExp.Max(Math.Abs)) * U;
        var actualHiddenGrad = OpData.Download(hiddenGrad);
        for (var i = 0; i < actualHiddenGrad.Length; i++)
            Assert.That(actualHiddenGrad[i],
                Is.EqualTo(expectedHiddenGrad[i]).Within(Stored(storage, expectedHiddenGrad[i],
                Math.Abs(logProbGrad[i / dim]) * (probabilityError + 2 * vocab * U) + 2 * U)),
                $"hidden element {i}");
        var actualWeightGrad = OpData.Download(weightGrad);
        var sumOfWeights = logProbGrad.Where((_, r) => labels[r] >= 0).Sum(Math.Abs);
        for (var i = 0; i < actualWeightGrad.Length; i++)
            Assert.That(actualWeightGrad[i],
                Is.EqualTo(expectedWeightGrad[i]).Within(Stored(storage, expectedWeightGrad[i], (probabilityError + 2 * rows * U) * sumOfWeights + 2 * U)),
                $"weight element {i}");
        if (biasGrad is not { } biasGradView) return;
        var actualBiasGrad = OpData.Download(biasGradView);
        for (var i = 0; i < vocab; i++)
            Assert.That(actualBiasGrad[i],
                Is.EqualTo(expectedBiasGrad[i]).Within(Stored(storage, expectedBiasGrad[i], (probabilityError + 2 * rows * U) * sumOfWeights + 2 * U)),
                $"bias element {i}");
    }

    private static double[] InStorage(Storage storage, double[] values) => storage == Storage.BFloat16 ? OpData.RoundToBFloat16(values) : values;

    /// <summary>
    /// The bound of a stored result whose float32 value is within <paramref name="float32Bound"/> of the expected one: that
    /// bound in float32; in bfloat16 plus one rounding of the float32 value, 2⁻⁸ of at most |expected| + float32Bound.
    /// </summary>
    private static double Stored(Storage storage, double expected, double float32Bound) =>
        float32Bound + (storage == Storage.BFloat16 ? BFloat16.UnitRoundoff * (Math.Abs(expected) + float32Bound) : 0);
}
