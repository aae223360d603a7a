using SimNpo.Kernels;
using static SimNpo.Tests.Kernels.Ilgpu.LossKernelTests;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The loss heads on bfloat16 logits and targets (statistics float32), through the ops on both simulated devices, against
/// their float64 references on the same numbers: the logits of <see cref="LossKernelTests"/> rounded to bfloat16 first.
/// The kernels compute in float32 from those numbers exactly as they do from float32 ones, so every float32 statistic
/// (log-probs, log-sum-exps, KL values) is held to the float32 test's bound e; a bfloat16 result (log-softmax, gradients) is
/// that float32 value rounded once more, by at most 2⁻⁸ of itself: within 2⁻⁸·|exact| + 2e.
/// </summary>
public class BFloat16LossKernelTests
{
    /// <summary>float32's unit roundoff, the unit of the float32 bounds.</summary>
    private const double U = 1.0 / (1 << 24);

    private static double[] BFloat16Logits(int seed) => OpData.RoundedToBFloat16(Widen(RandomLogits(seed)));

    private static double StoredTolerance(double exact, double float32Bound) => BFloat16.UnitRoundoff * Math.Abs(exact) + 2 * float32Bound;

    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void LogSoftmaxAtLabelsForwardAndBackwardMatchTheReference(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var logits = BFloat16Logits(seed: 1);
        var (expectedLogProb, logSumExp) = (new double[Rows], new double[Rows]);
        LogSoftmaxAtLabels.Reference.Forward<double>(expectedLogProb, logSumExp, logits, Labels, Vocab);
        var (logProbView, logSumExpView, logitsView, labels) = (ops.Allocate(Rows).All, ops.Allocate(Rows).All, ops.UploadAs(Storage.BFloat16, logits), ops.UploadInts(Labels));
        ops.LogSoftmaxAtLabels(logProbView, logSumExpView, logitsView, labels, Vocab);
        var (actualLogProb, actualLogSumExp) = (OpData.Download(logProbView), OpData.Download(logSumExpView));
        for (var r = 0; r < Rows; r++)
        {
            Assert.That(actualLogSumExp[r], Is.EqualTo(logSumExp[r]).Within(LogSumExpTolerance(logSumExp[r])), $"row {r}");
            Assert.That(actualLogProb[r], Is.EqualTo(expectedLogProb[r]).Within(LogSoftmaxTolerance(expectedLogProb[r])), $"row {r}");
        }

        double[] logProbGrad = [0.5, 2, -3, 1.5, -0.25];
        var expected = new double[Rows * Vocab];
        LogSoftmaxAtLabels.Reference.Backward<double>(expected, logits, logSumExp, Labels, logProbGrad, Vocab);
        var (lse, grad) = (ops.Upload(Widen(Narrow(logSumExp))), ops.Upload(logProbGrad));
        var separate = ops.UploadAs(Storage.BFloat16, Enumerable.Repeat(99.0, logits.Length).ToArray()); // overwritten, not added to
        ops.LogSoftmaxAtLabelsBackward(separate, logitsView, lse, labels, grad, Vocab);
        ops.LogSoftmaxAtLabelsBackward(logitsView, logitsView, lse, labels, grad, Vocab);
        var actual = OpData.Download(separate);
        Assert.That(OpData.Download(logitsView), Is.EqualTo(actual), "in place, each element is read just before it is replaced");
        Assert.That(actual[Vocab..(2 * Vocab)], Is.All.EqualTo(0), "the ignored row");
        // The float32 bound of LossKernelTests: |g|·(|lse| + 3)·u.
        for (var i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(StoredTolerance(expected[i], Math.Abs(logProbGrad[i / Vocab]) * (Math.Abs(logSumExp[i / Vocab]) + 3) * U)),
                $"element {i}");
    }

    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void LogSoftmaxSeparateAndInPlaceMatchTheReference(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var logits = BFloat16Logits(seed: 3);
        var expected = new double[logits.Length];
        LogSoftmax.Reference.Forward<double>(expected, logits, Vocab);
        var (inPlace, separate) = (ops.UploadAs(Storage.BFloat16, logits), ops.Allocate(logits.Length, Storage.BFloat16).All);
        ops.LogSoftmax(separate, inPlace, Vocab);
        ops.LogSoftmax(inPlace, inPlace, Vocab);
        var actual = OpData.Download(separate);
        Assert.That(OpData.Download(inPlace), Is.EqualTo(actual));
        for (var i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(StoredTolerance(expected[i], LogSoftmaxTolerance(expected[i]))), $"element {i}");
    }

    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void KlDivergenceForwardAndBackwardMatchTheReference(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var logits = BFloat16Logits(seed: 4);
        // Rounded targets are no longer normalised exactly (Σp within 0.2% of 1 on these rows), which the float32 bound below,
        // derived for Σp ≈ 1 and proportional to it, absorbs. Row 2's target is one-hot (0 and −∞ are bfloat16 numbers).
        var targets = OpData.RoundedToBFloat16(Widen(NormalisedTargets(seed: 5)));
        for (var j = 0; j < Vocab; j++) targets[2 * Vocab + j] = j == 7 ? 0 : double.NegativeInfinity;
        var (expectedKl, logSumExp) = (new double[Rows], new double[Rows]);
        KlDivergence.Reference.Forward<double>(expectedKl, logSumExp, logits, targets, Vocab);
        double[] rowWeight = [0.5, -2, 3, 1, 0.25];
        var expectedGrad = new double[logits.Length];
        KlDivergence.Reference.Backward<double>(expectedGrad, logits, logSumExp, targets, rowWeight, Vocab);

        var (kl, logSumExpView) = (ops.Allocate(Rows).All, ops.Allocate(Rows).All);
        var (logitsView, targetsView) = (ops.UploadAs(Storage.BFloat16, logits), ops.UploadAs(Storage.BFloat16, targets));
        ops.KlDivergence(kl, logSumExpView, logitsView, targetsView, Vocab);
        var (actualKl, actualLogSumExp) = (OpData.Download(kl), OpData.Download(logSumExpView));
        for (var r = 0; r < Rows; r++)
        {
            Assert.That(actualLogSumExp[r], Is.EqualTo(logSumExp[r]).Within(LogSumExpTolerance(logSumExp[r])), $"row {r}");
            // The float32 test's bound, derived there.
            Assert.That(actualKl[r], Is.EqualTo(expectedKl[r]).Within((24 * Vocab + 200) * U), $"row {r}");
        }

        var (lse, weights) = (ops.Upload(Widen(Narrow(logSumExp))), ops.Upload(rowWeight));
        var separate = ops.UploadAs(Storage.BFloat16, Enumerable.Repeat(99.0, logits.Length).ToArray());
        ops.KlDivergenceBackward(separate, logitsView, lse, targetsView, weights, Vocab);
        ops.KlDivergenceBackward(logitsView, logitsView, lse, targetsView, weights, Vocab);
        var actualGrad = OpData.Download(separate);
        Assert.That(OpData.Download(logitsView), Is.EqualTo(actualGrad), "in place, each element is read just before it is replaced");
        // The float32 bound of LossKernelTests: |w|·(|lse| + 14)·u.
        for (var i = 0; i < actualGrad.Length; i++)
            Assert.That(actualGrad[i],
                Is.EqualTo(expectedGrad[i]).Within(StoredTolerance(expectedGrad[i], Math.Abs(rowWeight[i / Vocab]) * (Math.Abs(logSumExp[i / Vocab]) + 14) * U)),
                $"element {i}");
    }
}
