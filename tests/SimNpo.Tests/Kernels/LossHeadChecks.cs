using SimNpo.Kernels;
using static SimNpo.Tests.Kernels.Ilgpu.LossKernelTests;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// The loss heads through any backend's ops against their float64 references, with the data and float32 bounds e of
/// <see cref="Ilgpu.LossKernelTests"/> (derived there): logits in [−3, 3] with one row shifted by 80, a vocabulary of 37, an
/// ignored row; the backwards that overwrite must give the same bits in place. With bfloat16 bulk storage the logits and
/// targets are rounded to bfloat16 first, so the reference sees the numbers the op reads; the ops compute from them in
/// float32 as from float32 numbers, so the float32 statistics (log-probs, log-sum-exps, KL values) keep the bound e, and a
/// stored bfloat16 result (log-softmax, logit gradients) is the float32 one rounded once more, by at most 2⁻⁸ of itself:
/// within 2⁻⁸·|exact| + 2e.
/// </summary>
public static class LossHeadChecks
{
    /// <summary>float32's unit roundoff, the unit of the float32 bounds.</summary>
    private const double U = 1.0 / (1 << 24);

    public static void LogSoftmaxAtLabelsMatchesTheReference(IOps<float> ops, Storage bulk)
    {
        var logits = Stored(bulk, Widen(RandomLogits(seed: 1)));
        var (expectedLogProb, logSumExp) = (new double[Rows], new double[Rows]);
        LogSoftmaxAtLabels.Reference.Forward<double>(expectedLogProb, logSumExp, logits, Labels, Vocab);
        var (logProbView, logSumExpView, logitsView, labels) = (ops.Allocate(Rows).All, ops.Allocate(Rows).All, ops.Upload(bulk, logits),
            ops.UploadInts(Labels));
        ops.LogSoftmaxAtLabels(logProbView, logSumExpView, logitsView, labels, Vocab);
        var (actualLogProb, actualLogSumExp) = (OpData.Download(logProbView), OpData.Download(logSumExpView));
        for (var r = 0; r < Rows; r++)
        {
            Assert.That(actualLogSumExp[r], Is.EqualTo(logSumExp[r]).Within(LogSumExpTolerance(logSumExp[r])), $"row {r}");
            Assert.That(actualLogProb[r], Is.EqualTo(expectedLogProb[r]).Within(LogSoftmaxTolerance(expectedLogProb[r])), $"row {r}");
        }
        Assert.That((actualLogProb[1], actualLogSumExp[1]), Is.EqualTo((0.0, 0.0)), "the ignored row");

        // Backward from the reference's log-sum-exps rounded to float32, as LossKernelTests derives its bound |g|·(|lse| + 3)·u.
        double[] logProbGrad = [0.5, 2, -3, 1.5, -0.25];
        var expected = new double[Rows * Vocab];
        LogSoftmaxAtLabels.Reference.Backward<double>(expected, logits, logSumExp, Labels, logProbGrad, Vocab);
        var (lse, grad) = (ops.Upload(logSumExp), ops.Upload(logProbGrad));
        var separate = ops.Upload(bulk, Enumerable.Repeat(99.0, logits.Length).ToArray()); // overwritten, not added to
        ops.LogSoftmaxAtLabelsBackward(separate, logitsView, lse, labels, grad, Vocab);
        ops.LogSoftmaxAtLabelsBackward(logitsView, logitsView, lse, labels, grad, Vocab);
        var actual = OpData.Download(separate);
        Assert.That(OpData.Download(logitsView), Is.EqualTo(actual), "in place, each element is read just before it is replaced");
        Assert.That(actual[Vocab..(2 * Vocab)], Is.All.EqualTo(0), "the ignored row");
        for (var i = 0; i < actual.Length; i++)
            Assert.That(actual[i],
                Is.EqualTo(expected[i]).Within(StoredTolerance(bulk, expected[i], Math.Abs(logProbGrad[i / Vocab]) * (Math.Abs(logSumExp[i / Vocab]) + 3) * U)),
                $"element {i}");
    }

    public static void LogSoftmaxSeparateAndInPlaceMatchTheReference(IOps<float> ops, Storage bulk)
    {
        var logits = Stored(bulk, Widen(RandomLogits(seed: 3)));
        var expected = new double[logits.Length];
        LogSoftmax.Reference.Forward<double>(expected, logits, Vocab);
        var (inPlace, separate) = (ops.Upload(bulk, logits), ops.Allocate(logits.Length, bulk).All);
        ops.LogSoftmax(separate, inPlace, Vocab);
        ops.LogSoftmax(inPlace, inPlace, Vocab);
        var actual = OpData.Download(separate);
        Assert.That(OpData.Download(inPlace), Is.EqualTo(actual));
        for (var i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(StoredTolerance(bulk, expected[i], LogSoftmaxTolerance(expected[i]))), $"element {i}");
    }

    public static void KlDivergenceMatchesTheReference(IOps<float> ops, Storage bulk)
    {
        var logits = Stored(bulk, Widen(RandomLogits(seed: 4)));
        // bfloat16 targets are no longer normalised exactly (Σp within 0.2% of 1 on these rows), which the float32 bound below,
        // derived for Σp ≈ 1 and proportional to it, absorbs. Row 2's target is one-hot: its zero probabilities (t = −∞, a
        // bfloat16 number too) must add nothing, not 0·−∞.
        var targets = Stored(bulk, Widen(NormalisedTargets(seed: 5)));
        for (var j = 0; j < Vocab; j++) targets[2 * Vocab + j] = j == 7 ? 0 : double.NegativeInfinity;
        var (expectedKl, logSumExp) = (new double[Rows], new double[Rows]);
        KlDivergence.Reference.Forward<double>(expectedKl, logSumExp, logits, targets, Vocab);
        double[] rowWeight = [0.5, -2, 3, 1, 0.25];
        var expectedGrad = new double[logits.Length];
        KlDivergence.Reference.Backward<double>(expectedGrad, logits, logSumExp, targets, rowWeight, Vocab);

        var (kl, logSumExpView) = (ops.Allocate(Rows).All, ops.Allocate(Rows).All);
        var (logitsView, targetsView) = (ops.Upload(bulk, logits), ops.Upload(bulk, targets));
        ops.KlDivergence(kl, logSumExpView, logitsView, targetsView, Vocab);
        var (actualKl, actualLogSumExp) = (OpData.Download(kl), OpData.Download(logSumExpView));
        for (var r = 0; r < Rows; r++)
        {
            Assert.That(actualLogSumExp[r], Is.EqualTo(logSumExp[r]).Within(LogSumExpTolerance(logSumExp[r])), $"row {r}");
            Assert.That(actualKl[r], Is.EqualTo(expectedKl[r]).Within((24 * Vocab + 200) * U), $"row {r}");
        }

        // The backward's float32 bound from LossKernelTests: |w|·(|lse| + 14)·u.
        var (lse, weights) = (ops.Upload(logSumExp), ops.Upload(rowWeight));
        var separate = ops.Upload(bulk, Enumerable.Repeat(99.0, logits.Length).ToArray());
        ops.KlDivergenceBackward(separate, logitsView, lse, targetsView, weights, Vocab);
        ops.KlDivergenceBackward(logitsView, logitsView, lse, targetsView, weights, Vocab);
        var actualGrad = OpData.Download(separate);
        Assert.That(OpData.Download(logitsView), Is.EqualTo(actualGrad), "in place, each element is read just before it is replaced");
        for (var i = 0; i < actualGrad.Length; i++)
            Assert.That(actualGrad[i],
                Is.EqualTo(expectedGrad[i]).Within(StoredTolerance(bulk, expectedGrad[i],
                Math.Abs(rowWeight[i / Vocab]) * (Math.Abs(logSumExp[i / Vocab]) + 14) * U)),
                $"element {i}");
    }

    private static double[] Stored(Storage bulk, double[] values) => bulk == Storage.BFloat16 ? OpData.RoundToBFloat16(values) : values;

    private static double StoredTolerance(Storage bulk, double exact, double float32Bound) =>
        bulk == Storage.BFloat16 ? BFloat16.UnitRoundoff * Math.Abs(exact) + 2 * float32Bound : float32Bound;
}
