using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>Four rows over a vocabulary of seven, labels at both ends and one ignored row (label −1).</summary>
public class LogSoftmaxAtLabelsCase() : OpCase("log-softmax at labels", Rows * Vocab)
{
    public const int Rows = 4, Vocab = 7;
    public static readonly int[] Labels = [2, -1, 6, 0];

    public override double InputScale => 3;

    // Sums in float64; float32 rounds the log-sum-exp (error u·|lse|, |lse| < 6 here, scaling every probability), then each result.
    public override int Float32Roundings => 10;

    public override bool ReferenceOnly => true;

    public override bool BackwardAdds => false;

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs) => Run(ops, inputs[0]).LogProb;

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.LogSoftmaxAtLabelsBackward(inputGrads[0], inputs[0], Run(ops, inputs[0]).LogSumExp, ops.UploadInts(Labels), outputGrad, Vocab);

    public static (View<T> LogProb, View<T> LogSumExp) Run<T>(IOps<T> ops, View<T> logits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (logProb, logSumExp) = (ops.Allocate(Rows).All, ops.Allocate(Rows).All);
        ops.LogSoftmaxAtLabels(logProb, logSumExp, logits, ops.UploadInts(Labels), Vocab);
        return (logProb, logSumExp);
    }
}

public class LogSoftmaxAtLabelsTests
{
    private readonly IOps<double> _ops = new ReferenceOps<double>();

    [Test]
    public void ForwardMatchesANaiveSoftmaxAndIgnoredRowsGiveZero()
    {
        var logits = new LogSoftmaxAtLabelsCase().RandomInputs(seed: 14)[0];
        var logProb = OpData.Download(LogSoftmaxAtLabelsCase.Run(_ops, _ops.Upload(logits)).LogProb);
        for (var r = 0; r < LogSoftmaxAtLabelsCase.Rows; r++)
        {
            var label = LogSoftmaxAtLabelsCase.Labels[r];
            var row = logits.Skip(r * LogSoftmaxAtLabelsCase.Vocab).Take(LogSoftmaxAtLabelsCase.Vocab).ToArray();
            var expected = label < 0 ? 0 : Math.Log(Math.Exp(row[label]) / row.Sum(Math.Exp));
            Assert.That(logProb[r], Is.EqualTo(expected).Within(1e-14), $"row {r}"); // float64, logits below 3 in size
        }
    }

    [Test]
    public void LargeLogitsDoNotOverflow()
    {
        // exp(1000) overflows float64; the running maximum keeps every exponent at or below 0.
        var (logProb, _) = LogSoftmaxAtLabelsCase.Run(_ops, _ops.Upload([.. Enumerable.Repeat(1000.0, 4 * 7)]));
        Assert.That(OpData.Download(logProb), Is.EqualTo(new[] { -Math.Log(7), 0, -Math.Log(7), -Math.Log(7) }).Within(1e-13));
    }

    [Test]
    public void BackwardInPlaceOverTheLogitsEqualsTheSeparateGradient()
    {
        var logits = new LogSoftmaxAtLabelsCase().RandomInputs(seed: 15)[0];
        var logProbGrad = _ops.Upload(0.5, 2, -1, 3);
        var labels = _ops.UploadInts(LogSoftmaxAtLabelsCase.Labels);
        var logitsView = _ops.Upload(logits);
        var logSumExp = LogSoftmaxAtLabelsCase.Run(_ops, logitsView).LogSumExp;
        var separate = _ops.Upload(Enumerable.Repeat(99.0, logits.Length).ToArray()); // overwritten, not added to
        _ops.LogSoftmaxAtLabelsBackward(separate, logitsView, logSumExp, labels, logProbGrad, LogSoftmaxAtLabelsCase.Vocab);
        _ops.LogSoftmaxAtLabelsBackward(logitsView, logitsView, logSumExp, labels, logProbGrad, LogSoftmaxAtLabelsCase.Vocab);
        Assert.That(OpData.Download(logitsView), Is.EqualTo(OpData.Download(separate)));

        var row0 = logits.Take(LogSoftmaxAtLabelsCase.Vocab).ToArray();
        var softmax0 = row0.Select(x => Math.Exp(x) / row0.Sum(Math.Exp)).ToArray();
        var expected0 = softmax0.Select((p, j) => 0.5 * ((j == 2 ? 1 : 0) - p));
        Assert.That(OpData.Download(separate)[..LogSoftmaxAtLabelsCase.Vocab], Is.EqualTo(expected0).Within(1e-15));
        Assert.That(OpData.Download(separate)[LogSoftmaxAtLabelsCase.Vocab..(2 * LogSoftmaxAtLabelsCase.Vocab)], Is.All.EqualTo(0), "ignored row");
    }
}
