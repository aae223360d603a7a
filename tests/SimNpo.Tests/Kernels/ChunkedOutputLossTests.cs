using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// The chunked output loss's reference in float64: equal to the unfused matmul (then the lm_head bias, where there is one)
/// then log-softmax at the labels, whatever the chunk (one column, a chunk that does not divide the vocabulary, one chunk
/// for all), and differentiated right.
/// </summary>
public class ChunkedOutputLossTests
{
    public const int Rows = 6, Dim = 13, Vocab = 37;
    public static readonly int[] Labels = [0, -1, 36, 17, 5, 33];
    public static readonly double[] LogProbGrad = [0.5, 2, -3, 1.5, -0.25, 1];

    /// <summary>Hidden states and weights uniform in [−1, 1] and float32 numbers, so the device tests can share them.</summary>
    public static (double[] Hidden, double[] Weight) RandomInputs(int seed)
    {
        var random = new Random(seed);
        return (OpData.Random(random, Rows * Dim), OpData.Random(random, Vocab * Dim));
    }

    /// <summary>An lm_head bias uniform in [−1, 1], float32 numbers.</summary>
    public static double[] RandomBias(int seed) => OpData.Random(new Random(seed), Vocab);

    /// <summary>An optional array as the reference's optional memory: null stays null (a bare null would convert to empty memory, through T[]).</summary>
    public static Memory<double>? Optional(double[]? values) => values is null ? default(Memory<double>?) : values;

    /// <summary>The same for an optional input (the bias), typed exactly as the reference takes it.</summary>
    public static ReadOnlyMemory<double>? OptionalInput(double[]? values) => values is null ? default(ReadOnlyMemory<double>?) : values;

    [TestCase(1, false)]
    [TestCase(8, false)]
    [TestCase(Vocab, false)]
    [TestCase(100, false)]
    [TestCase(1, true)]
    [TestCase(8, true)]
    [TestCase(100, true)]
    public void EqualsTheUnfusedMatMulAndLogSoftmaxAtLabels(int chunk, bool withBias)
    {
        var (hidden, weight) = RandomInputs(seed: 31);
        var bias = withBias ? RandomBias(seed: 35) : null;
        var (logProb, logSumExp) = (new double[Rows], new double[Rows]);
        var scratch = new double[ChunkedOutputLoss.ScratchLength(Rows, Vocab, chunk)];
        ChunkedOutputLoss.Reference.Forward<double>(logProb, logSumExp, scratch, hidden, weight, OptionalInput(bias), Labels, Rows, Dim, Vocab, chunk);
        // Both backwards add: start from the same nonzero gradients.
        var (hiddenGrad, weightGrad) = (OpData.Random(new Random(32), Rows * Dim), OpData.Random(new Random(33), Vocab * Dim));
        var biasGrad = withBias ? OpData.Random(new Random(36), Vocab) : null;
        var (unfusedHiddenGrad, unfusedWeightGrad, unfusedBiasGrad) = (hiddenGrad.ToArray(), weightGrad.ToArray(), biasGrad?.ToArray());
        ChunkedOutputLoss.Reference.Backward<double>(hiddenGrad, weightGrad, scratch, hidden, weight, OptionalInput(bias), Optional(biasGrad), logSumExp, Labels,
            LogProbGrad, Rows, Dim, Vocab, chunk);

        var logits = new double[Rows * Vocab];
        MatMul.Reference.Forward<double>(logits, hidden, weight, Rows, Dim, Vocab);
        if (bias is not null) Bias.Reference.Forward<double>(logits, bias, Vocab);
        var (unfusedLogProb, unfusedLogSumExp) = (new double[Rows], new double[Rows]);
        LogSoftmaxAtLabels.Reference.Forward<double>(unfusedLogProb, unfusedLogSumExp, logits, Labels, Vocab);
        LogSoftmaxAtLabels.Reference.Backward<double>(logits, logits, unfusedLogSumExp, Labels, LogProbGrad, Vocab);
        MatMul.Reference.Backward<double>(unfusedHiddenGrad, unfusedWeightGrad, logits, hidden, weight, Rows, Dim, Vocab);
        if (unfusedBiasGrad is not null) Bias.Reference.Backward<double>(unfusedBiasGrad, logits, Vocab);

        // The same float64 dot products; only the log-sum-exp is merged chunk by chunk: a few roundings of values below 20.
        Assert.That(logProb, Is.EqualTo(unfusedLogProb).Within(1e-13));
        Assert.That(logSumExp, Is.EqualTo(unfusedLogSumExp).Within(1e-13));
        Assert.That((logProb[1], logSumExp[1]), Is.EqualTo((0.0, 0.0)), "the ignored row");
        Assert.That(hiddenGrad, Is.EqualTo(unfusedHiddenGrad).Within(1e-13));
        Assert.That(weightGrad, Is.EqualTo(unfusedWeightGrad).Within(1e-13));
        // The column sums of the same logit gradients, chunk by chunk instead of whole rows: the same float64 sums.
        if (biasGrad is not null) Assert.That(biasGrad, Is.EqualTo(unfusedBiasGrad).Within(1e-13));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void BackwardIsTheDerivativeOfTheWeightedLogProbs(bool withBias)
    {
        const int chunk = 8;
        var (hidden, weight) = RandomInputs(seed: 34);
        var bias = withBias ? RandomBias(seed: 37) : null;
        var scratch = new double[ChunkedOutputLoss.ScratchLength(Rows, Vocab, chunk)];
        double Loss()
        {
            var logProb = new double[Rows];
            ChunkedOutputLoss.Reference.Forward<double>(logProb, new double[Rows], scratch, hidden, weight, OptionalInput(bias), Labels, Rows, Dim, Vocab, chunk);
            return logProb.Select((lp, r) => LogProbGrad[r] * lp).Sum();
        }
        var logSumExp = new double[Rows];
        ChunkedOutputLoss.Reference.Forward<double>(new double[Rows], logSumExp, scratch, hidden, weight, OptionalInput(bias), Labels, Rows, Dim, Vocab, chunk);
        var (hiddenGrad, weightGrad, biasGrad) = (new double[hidden.Length], new double[weight.Length], withBias ? new double[Vocab] : null);
        ChunkedOutputLoss.Reference.Backward<double>(hiddenGrad, weightGrad, scratch, hidden, weight, OptionalInput(bias), Optional(biasGrad), logSumExp, Labels,
            LogProbGrad, Rows, Dim, Vocab, chunk);

        // Central differences with step 1e-5: truncation h²·|f'''|/6 ≈ 1e-10 (third derivatives of a log-softmax are O(1) here),
        // rounding 1e-16·|loss| / h ≈ 1e-10; the gradients are O(0.1 to 1).
        var differentiated = new List<(double[], double[])> { (hidden, hiddenGrad), (weight, weightGrad) };
        if (bias is not null) differentiated.Add((bias, biasGrad!));
        foreach (var (x, gradient) in differentiated)
            for (var i = 0; i < x.Length; i++)
            {
                var saved = x[i];
                x[i] = saved + 1e-5;
                var plus = Loss();
                x[i] = saved - 1e-5;
                var minus = Loss();
                x[i] = saved;
                Assert.That(gradient[i], Is.EqualTo((plus - minus) / 2e-5).Within(1e-8), $"element {i}");
            }
        Assert.That(hiddenGrad[Dim..(2 * Dim)], Is.All.EqualTo(0), "the ignored row has no gradient");
    }

    [Test]
    public void ABiasAndItsGradientComeTogether()
    {
        var (hidden, weight) = RandomInputs(seed: 38);
        var scratch = new double[ChunkedOutputLoss.ScratchLength(Rows, Vocab, 8)];
        Assert.That(() => ChunkedOutputLoss.Reference.Backward<double>(new double[hidden.Length], new double[weight.Length], scratch, hidden, weight,
                RandomBias(seed: 39), null, new double[Rows], Labels, LogProbGrad, Rows, Dim, Vocab, 8),
            Throws.ArgumentException.With.Message.Contains("together"));
        Assert.That(() => ChunkedOutputLoss.Reference.Forward<double>(new double[Rows], new double[Rows], scratch, hidden, weight, new double[Vocab - 1],
            Labels, Rows, Dim, Vocab, 8), Throws.ArgumentException.With.Message.Contains("bias"));
    }

    [Test]
    public void TheScratchIsOneChunkOfLogitsPerRowAndARunningSum()
    {
        Assert.That(ChunkedOutputLoss.ScratchLength(Rows, Vocab, 8), Is.EqualTo(Rows * 9));
        Assert.That(ChunkedOutputLoss.ScratchLength(Rows, Vocab, 100), Is.EqualTo(Rows * (Vocab + 1)), "a chunk wider than the vocabulary is the vocabulary");
        Assert.Throws<ArgumentOutOfRangeException>(() => ChunkedOutputLoss.ScratchLength(Rows, Vocab, 0));
        // Llama 3's vocabulary over 8×512 scored rows: a scratch of 64 MiB in float32, where the logits take 4·4096·128256 bytes = 2004 MiB.
        Assert.That(4.0 * ChunkedOutputLoss.ScratchLength(8 * 512, 128256, 4096) / (1 << 20), Is.EqualTo(64).Within(0.1));
    }
}
