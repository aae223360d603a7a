using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// The log-probability of each row's label, logits in [−3, 3] with one ignored row (label −1): four rows over a vocabulary
/// of seven, labels at both ends (the spec); five rows over 37, a multiple of neither warp (on the default simulated device
/// a row is strided through, 3 logits per thread; on the NVIDIA-like one two warps per row, 27 threads idle), with row 3
/// shifted by 80, where exp would overflow float32 without the running maximum. The backward, which overwrites the
/// logits' gradient, reads the float64 reference's log-sum-exps rounded to the element type (as the float32 reference's
/// own are), so its bound counts that rounding alone; <see cref="LossHeadTests"/> checks each backend's own log-sum-exps.
/// </summary>
public class LogSoftmaxAtLabelsCase(string name, int rows, int vocab, int[] labels, CaseSize size, int shiftedRow = -1)
    : LossHeadCase(name, rows, vocab, size, shiftedRow)
{
    public static readonly LogSoftmaxAtLabelsCase Small = new("log-softmax at labels", 4, 7, [2, -1, 6, 0], CaseSize.Small);
    public static readonly LogSoftmaxAtLabelsCase Shaped = new("log-softmax at labels 5x37", 5, 37, [0, -1, 36, 17, 5], CaseSize.Shaped, shiftedRow: 3);

    public static readonly OpCase[] Cases = [Small, Shaped];

    public int[] Labels => labels;

    // The spec on the reference: sums in float64; float32 rounds the log-sum-exp (error u·|lse|, |lse| < 6 here, scaling
    // every probability), then each result.
    public override int Float32Roundings => 10;

    /// <summary>
    /// On any float32 path. The log-sum-exp: the sum of exponentials passes through at most Vocab additions, merges and exps
    /// in float32 (2u relative each, so 2·Vocab·u, which log turns into absolute error), then max + log(sum) rounds (u·|lse|).
    /// </summary>
    public static double LogSumExpBound(double lse, int vocab) => (2 * vocab + Math.Abs(lse)) * OpResult.U;

    /// <summary>
    /// A log-probability taken as (x − max) − log(sum): the log's error as above, and two roundings each below u·|result|
    /// (both parts are smaller than the result in Size), so the logits' offset (80 on the shifted row) does not enter.
    /// </summary>
    public static double LogSoftmaxBound(double logProb, int vocab) => (2 * vocab + 2 * Math.Abs(logProb) + 1) * OpResult.U;

    /// <summary>
    /// The log-probabilities within <see cref="LogSoftmaxBound"/>. The gradient g·p with p = exp(x − lse): lse is the
    /// float32 rounding of the reference's (u·|lse|, up to 86u on the shifted row), the subtraction and exp add 2u relative,
    /// the one-hot term is exact; so |error| ≤ |g|·(|lse| + 3)·u. The spec keeps its stated bound on the reference.
    /// </summary>
    protected override double[] Float32Bounds(OpResult result) =>
        result.IsOutput ? result.Exact.Select(logProb => LogSoftmaxBound(logProb, Vocab)).ToArray() : GradientBounds(result, lseRoundings: 3);

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs) => Run(ops, inputs[0]).LogProb;

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.LogSoftmaxAtLabelsBackward(inputGrads[0], inputs[0], ops.Upload(LogSumExps(OpData.Download(inputs[0]))), ops.UploadInts(labels), outputGrad,
            Vocab);

    /// <summary>The float64 reference's log-sum-exp of each row (0 for an ignored one).</summary>
    public override double[] LogSumExps(double[] logits)
    {
        var (logProb, logSumExp) = (new double[Rows], new double[Rows]);
        LogSoftmaxAtLabels.Reference.Forward<double>(logProb, logSumExp, logits, labels, Vocab);
        return logSumExp;
    }

    public (View<T> LogProb, View<T> LogSumExp) Run<T>(IOps<T> ops, View<T> logits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (logProb, logSumExp) = (ops.Allocate(Rows).All, ops.Allocate(Rows).All);
        ops.LogSoftmaxAtLabels(logProb, logSumExp, logits, ops.UploadInts(labels), Vocab);
        return (logProb, logSumExp);
    }
}

public class LogSoftmaxAtLabelsTests
{
    private static readonly LogSoftmaxAtLabelsCase Spec = LogSoftmaxAtLabelsCase.Small;
    private readonly IOps<double> _ops = new ReferenceOps<double>();

    [Test]
    public void ForwardMatchesANaiveSoftmaxAndIgnoredRowsGiveZero()
    {
        var logits = Spec.RandomInputs(seed: 14)[0];
        var logProb = OpData.Download(Spec.Run(_ops, _ops.Upload(logits)).LogProb);
        for (var r = 0; r < Spec.Rows; r++)
        {
            var label = Spec.Labels[r];
            var row = logits.Skip(r * Spec.Vocab).Take(Spec.Vocab).ToArray();
            var expected = label < 0 ? 0 : Math.Log(Math.Exp(row[label]) / row.Sum(Math.Exp));
            Assert.That(logProb[r], Is.EqualTo(expected).Within(1e-14), $"row {r}"); // float64, logits below 3 in size
        }
    }

    [Test]
    public void LargeLogitsDoNotOverflow()
    {
        // exp(1000) overflows float64; the running maximum keeps every exponent at or below 0.
        var (logProb, _) = Spec.Run(_ops, _ops.Upload([.. Enumerable.Repeat(1000.0, 4 * 7)]));
        Assert.That(OpData.Download(logProb), Is.EqualTo(new[] { -Math.Log(7), 0, -Math.Log(7), -Math.Log(7) }).Within(1e-13));
    }

    [Test]
    public void BackwardInPlaceOverTheLogitsEqualsTheSeparateGradient()
    {
        var logits = Spec.RandomInputs(seed: 15)[0];
        var logProbGrad = _ops.Upload(0.5, 2, -1, 3);
        var labels = _ops.UploadInts(Spec.Labels);
        var logitsView = _ops.Upload(logits);
        var logSumExp = Spec.Run(_ops, logitsView).LogSumExp;
        var separate = _ops.Upload(Enumerable.Repeat(99.0, logits.Length).ToArray()); // overwritten, not added to
        _ops.LogSoftmaxAtLabelsBackward(separate, logitsView, logSumExp, labels, logProbGrad, Spec.Vocab);
        _ops.LogSoftmaxAtLabelsBackward(logitsView, logitsView, logSumExp, labels, logProbGrad, Spec.Vocab);
        Assert.That(OpData.Download(logitsView), Is.EqualTo(OpData.Download(separate)));

        var row0 = logits.Take(Spec.Vocab).ToArray();
        var softmax0 = row0.Select(x => Math.Exp(x) / row0.Sum(Math.Exp)).ToArray();
        var expected0 = softmax0.Select((p, j) => 0.5 * ((j == 2 ? 1 : 0) - p));
        Assert.That(OpData.Download(separate)[..Spec.Vocab], Is.EqualTo(expected0).Within(1e-15));
        Assert.That(OpData.Download(separate)[Spec.Vocab..(2 * Spec.Vocab)], Is.All.EqualTo(0), "ignored row");
    }
}
