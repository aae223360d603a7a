using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// Three rows over a vocabulary of six: logits in [−3, 3] against fixed targets, the float64 log-softmax of other logits
/// in [−1, 1]. The targets are not an input of the case (the op gives them no gradient); they are exactly normalised in
/// float64, since the backward softmax − p is the derivative only where Σ p = 1.
/// </summary>
public class KlDivergenceCase() : OpCase("kl divergence", Rows * Vocab)
{
    public const int Rows = 3, Vocab = 6;
    public static readonly double[] Targets = KlDivergenceTests.NaiveLogSoftmax(OpData.Random(new Random(21), Rows * Vocab), Vocab);

    public override double InputScale => 3;

    // The float32 run also rounds the targets (|t| < 2 + log 6 < 4, so each p errs by 4u relative) and the kept log-sum-exp
    // (|lse| < 3 + log 6 < 5: 5u in each softmax). Forward: Σ p·(4u·|t − logits + lse| + 4u) + u with |t − logits + lse| < 12,
    // under 53u; backward (|rowWeight| ≤ 1): 5u + 4u + u.
    public override int Float32Roundings => 60;

    public override bool ReferenceOnly => true;

    public override bool BackwardAdds => false;

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs) => Run(ops, inputs[0]).Kl;

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.KlDivergenceBackward(inputGrads[0], inputs[0], Run(ops, inputs[0]).LogSumExp, ops.Upload(Targets), outputGrad, Vocab);

    public static (View<T> Kl, View<T> LogSumExp) Run<T>(IOps<T> ops, View<T> logits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (kl, logSumExp) = (ops.Allocate(Rows).All, ops.Allocate(Rows).All);
        ops.KlDivergence(kl, logSumExp, logits, ops.Upload(Targets), Vocab);
        return (kl, logSumExp);
    }
}

public class KlDivergenceTests
{
    private const int Rows = KlDivergenceCase.Rows, Vocab = KlDivergenceCase.Vocab;
    private readonly IOps<double> _ops = new ReferenceOps<double>();

    public static double[] NaiveLogSoftmax(double[] logits, int vocab) =>
        logits.Chunk(vocab).SelectMany(row => row.Select(x => x - Math.Log(row.Sum(Math.Exp)))).ToArray();

    [Test]
    public void ForwardMatchesTheNaiveFormula()
    {
        var logits = new KlDivergenceCase().RandomInputs(seed: 22)[0];
        var (kl, logSumExp) = KlDivergenceCase.Run(_ops, _ops.Upload(logits));
        var logProbs = NaiveLogSoftmax(logits, Vocab);
        for (var r = 0; r < Rows; r++)
        {
            var expected = Enumerable.Range(r * Vocab, Vocab).Sum(v => Math.Exp(KlDivergenceCase.Targets[v]) * (KlDivergenceCase.Targets[v] - logProbs[v]));
            // float64 sums of six terms below 12 in size: ~1e-15; a wrong sign or a missing lse is off by O(0.1).
            Assert.That(OpData.Download(kl)[r], Is.EqualTo(expected).Within(1e-13), $"row {r}");
            Assert.That(OpData.Download(kl)[r], Is.GreaterThan(0.05), $"row {r}: random distributions differ");
            Assert.That(OpData.Download(logSumExp)[r], Is.EqualTo(Math.Log(logits.Skip(r * Vocab).Take(Vocab).Sum(Math.Exp))).Within(1e-14));
        }
    }

    [Test]
    public void IdenticalDistributionsHaveNoDivergenceAndNoGradient()
    {
        // The logits are the targets shifted per row: the softmax is invariant to the shift.
        var logits = KlDivergenceCase.Targets.Select((t, i) => t + 10 * (i / Vocab)).ToArray();
        var view = _ops.Upload(logits);
        var (kl, logSumExp) = KlDivergenceCase.Run(_ops, view);
        // Each term p·(t − x + lse) cancels to rounding: ε·|lse| with |lse| < 25.
        Assert.That(OpData.Download(kl), Is.All.EqualTo(0).Within(1e-14));
        _ops.KlDivergenceBackward(view, view, logSumExp, _ops.Upload(KlDivergenceCase.Targets), _ops.Upload(1, 1, 1), Vocab);
        Assert.That(OpData.Download(view), Is.All.EqualTo(0).Within(1e-14));
    }

    [Test]
    public void BackwardInPlaceOverTheLogitsEqualsTheSeparateGradient()
    {
        var logits = new KlDivergenceCase().RandomInputs(seed: 23)[0];
        var logitsView = _ops.Upload(logits);
        var logSumExp = KlDivergenceCase.Run(_ops, logitsView).LogSumExp;
        var targets = _ops.Upload(KlDivergenceCase.Targets);
        var rowWeight = _ops.Upload(0.5, -2, 3);
        var separate = _ops.Upload(Enumerable.Repeat(99.0, logits.Length).ToArray()); // overwritten, not added to
        _ops.KlDivergenceBackward(separate, logitsView, logSumExp, targets, rowWeight, Vocab);
        _ops.KlDivergenceBackward(logitsView, logitsView, logSumExp, targets, rowWeight, Vocab);
        Assert.That(OpData.Download(logitsView), Is.EqualTo(OpData.Download(separate)));

        var logProbs = NaiveLogSoftmax(logits, Vocab);
        var expected = logProbs.Select((lp, i) => new[] { 0.5, -2, 3 }[i / Vocab] * (Math.Exp(lp) - Math.Exp(KlDivergenceCase.Targets[i])));
        Assert.That(OpData.Download(separate), Is.EqualTo(expected).Within(1e-15)); // probabilities below 1, weights ≤ 3
    }

    [Test]
    public void ZeroTargetProbabilitiesAddNothing()
    {
        double[] targets = [0, double.NegativeInfinity, double.NegativeInfinity];
        var (kl, logSumExp) = (_ops.Allocate(1).All, _ops.Allocate(1).All);
        _ops.KlDivergence(kl, logSumExp, _ops.Upload(1, 2, 3), _ops.Upload(targets), 3);
        // KL(onehot(0) ‖ softmax) = −log softmax_0.
        Assert.That(OpData.Download(kl)[0], Is.EqualTo(Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3)) - 1).Within(1e-15));
    }

    [Test]
    public void LogSoftmaxMatchesTheNaiveFormulaInPlaceAndWithoutOverflow()
    {
        var logits = OpData.Random(new Random(24), Rows * Vocab, scale: 3);
        var separate = _ops.Allocate(logits.Length).All;
        var inPlace = _ops.Upload(logits);
        _ops.LogSoftmax(separate, inPlace, Vocab);
        _ops.LogSoftmax(inPlace, inPlace, Vocab);
        Assert.That(OpData.Download(inPlace), Is.EqualTo(OpData.Download(separate)));
        Assert.That(OpData.Download(separate), Is.EqualTo(NaiveLogSoftmax(logits, Vocab)).Within(1e-14)); // float64, |values| < 8

        // exp(1000) overflows float64; the running maximum keeps every exponent at or below 0.
        var large = _ops.Upload(1000, 1000, 1000 - Math.Log(2));
        _ops.LogSoftmax(large, large, 3);
        Assert.That(OpData.Download(large),
            Is.EqualTo(new[] { -Math.Log(2.5), -Math.Log(2.5), -Math.Log(5) }).Within(1e-12)); // a few roundings of ulp(1000) ≈ 1.1e-13
    }
}
