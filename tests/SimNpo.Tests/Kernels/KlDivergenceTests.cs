using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// KL(target ‖ softmax(logits)) per row against fixed targets (log-probabilities; not an input of the case, the op gives
/// them no gradient). The spec: three rows over six, logits in [−3, 3], targets the float64 log-softmax of other logits in
/// [−1, 1], exactly normalised, since the backward softmax − p is the derivative only where Σ p = 1. For the devices and
/// the fast path: the data of <see cref="LogSoftmaxAtLabelsCase.Shaped"/> (five rows over 37, row 3 shifted by 80) against
/// such targets over 37, rounded to bfloat16 so that one case runs in both storages (Σp within 0.2% of 1 on these rows,
/// which the bound below, derived for Σp ≈ 1 and proportional to it, absorbs), and row 2's target one-hot: its zero
/// probabilities (t = −∞) must add nothing, not 0·−∞. The backward, which overwrites the logits' gradient, reads the float64
/// reference's log-sum-exps rounded to the element type (as the float32 reference's own are).
/// </summary>
public class KlDivergenceCase(string name, int rows, int vocab, double[] targets, CaseSize size, int shiftedRow = -1)
    : LossHeadCase(name, rows, vocab, size, shiftedRow)
{
    public static readonly KlDivergenceCase Small = new("kl divergence", 3, 6, NaiveLogSoftmaxOf(OpData.Random(new Random(21), 3 * 6), 6), CaseSize.Small);

    public static readonly KlDivergenceCase Shaped = new("kl divergence 5x37", 5, 37, OneHotRow(OpData.RoundToBFloat16(
        NaiveLogSoftmaxOf(OpData.Random(new Random(5), 5 * 37), 37)), row: 2, hot: 7, vocab: 37), CaseSize.Shaped, shiftedRow: 3);

    public static readonly OpCase[] Cases = [Small, Shaped];

    public double[] Targets => targets;

    // The spec on the reference: the float32 run also rounds the targets (|t| < 2 + log 6 < 4, so each p errs by 4u relative)
    // and the kept log-sum-exp (|lse| < 3 + log 6 < 5: 5u in each softmax). Forward: Σ p·(4u·|t − logits + lse| + 4u) + u
    // with |t − logits + lse| < 12, under 53u; backward (|rowWeight| ≤ 1): 5u + 4u + u.
    public override int Float32Roundings => 60;

    /// <summary>The spec's targets are exactly normalised float64 values, which bfloat16 storage would round.</summary>
    public override bool RunsInBFloat16 => Size != CaseSize.Small;

    /// <summary>
    /// Forward: pivoted on the row's first logit x₀, a shift of the row cancels: Σ p·(t − (x − x₀)) sums terms with
    /// |t − (x − x₀)| ≤ 12 and Σ p ≈ 1, so (Vocab + 10)·12u with each term's own roundings (exp(t) within 7u); (lse − x₀) &lt; 10
    /// errs by 2·Vocab·u + 10u and the mass by (Vocab + 7)u, times 10. Under (24·Vocab + 200)u (6e-5 at 37); a dropped term
    /// moves it by 1e-3 or more. Backward: each probability within (|lse| + 3)u relative as in the log-softmax backward, each
    /// target's exp within (|t| + 1)u with |t| &lt; 10: |error| ≤ |w|·(|lse| + 14)·u. The spec keeps its stated bound on the
    /// reference.
    /// </summary>
    protected override double[] Float32Bounds(OpResult result) =>
        result.IsOutput ? result.Uniform((24 * Vocab + 200) * OpResult.U) : GradientBounds(result, lseRoundings: 14);

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs) => Run(ops, inputs[0]).Kl;

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads) =>
        ops.KlDivergenceBackward(inputGrads[0], inputs[0], ops.Upload(LogSumExps(OpData.Download(inputs[0]))), ops.Upload(inputs[0].Storage, targets),
            outputGrad, Vocab);

    /// <summary>The float64 reference's log-sum-exp of each row.</summary>
    public override double[] LogSumExps(double[] logits)
    {
        var reference = new ReferenceOps<double>();
        return OpData.Download(Run(reference, reference.Upload(logits)).LogSumExp);
    }

    public (View<T> Kl, View<T> LogSumExp) Run<T>(IOps<T> ops, View<T> logits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (kl, logSumExp) = (ops.Allocate(Rows).All, ops.Allocate(Rows).All);
        ops.KlDivergence(kl, logSumExp, logits, ops.Upload(logits.Storage, targets), Vocab);
        return (kl, logSumExp);
    }

    public static double[] NaiveLogSoftmaxOf(double[] logits, int vocab) =>
        logits.Chunk(vocab).SelectMany(row => row.Select(x => x - Math.Log(row.Sum(Math.Exp)))).ToArray();

    private static double[] OneHotRow(double[] targets, int row, int hot, int vocab)
    {
        for (var j = 0; j < vocab; j++) targets[row * vocab + j] = j == hot ? 0 : double.NegativeInfinity;
        return targets;
    }
}

public class KlDivergenceTests
{
    private static readonly KlDivergenceCase Spec = KlDivergenceCase.Small;
    private static readonly int Rows = Spec.Rows, Vocab = Spec.Vocab;
    private readonly IOps<double> _ops = new ReferenceOps<double>();

    [Test]
    public void ForwardMatchesTheNaiveFormula()
    {
        var logits = Spec.RandomInputs(seed: 22)[0];
        var (kl, logSumExp) = Spec.Run(_ops, _ops.Upload(logits));
        var logProbs = KlDivergenceCase.NaiveLogSoftmaxOf(logits, Vocab);
        for (var r = 0; r < Rows; r++)
        {
            var expected = Enumerable.Range(r * Vocab, Vocab).Sum(v => Math.Exp(Spec.Targets[v]) * (Spec.Targets[v] - logProbs[v]));
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
        var logits = Spec.Targets.Select((t, i) => t + 10 * (i / Vocab)).ToArray();
        var view = _ops.Upload(logits);
        var (kl, logSumExp) = Spec.Run(_ops, view);
        // Each term p·(t − x + lse) cancels to rounding: ε·|lse| with |lse| < 25.
        Assert.That(OpData.Download(kl), Is.All.EqualTo(0).Within(1e-14));
        _ops.KlDivergenceBackward(view, view, logSumExp, _ops.Upload(Spec.Targets), _ops.Upload(1, 1, 1), Vocab);
        Assert.That(OpData.Download(view), Is.All.EqualTo(0).Within(1e-14));
    }

    [Test]
    public void BackwardInPlaceOverTheLogitsEqualsTheSeparateGradient()
    {
        var logits = Spec.RandomInputs(seed: 23)[0];
        var logitsView = _ops.Upload(logits);
        var logSumExp = Spec.Run(_ops, logitsView).LogSumExp;
        var targets = _ops.Upload(Spec.Targets);
        var rowWeight = _ops.Upload(0.5, -2, 3);
        var separate = _ops.Upload(Enumerable.Repeat(99.0, logits.Length).ToArray()); // overwritten, not added to
        _ops.KlDivergenceBackward(separate, logitsView, logSumExp, targets, rowWeight, Vocab);
        _ops.KlDivergenceBackward(logitsView, logitsView, logSumExp, targets, rowWeight, Vocab);
        Assert.That(OpData.Download(logitsView), Is.EqualTo(OpData.Download(separate)));

        var logProbs = KlDivergenceCase.NaiveLogSoftmaxOf(logits, Vocab);
        var expected = logProbs.Select((lp, i) => new[] { 0.5, -2, 3 }[i / Vocab] * (Math.Exp(lp) - Math.Exp(Spec.Targets[i])));
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
        Assert.That(OpData.Download(separate), Is.EqualTo(KlDivergenceCase.NaiveLogSoftmaxOf(logits, Vocab)).Within(1e-14)); // float64, |values| < 8

        // exp(1000) overflows float64; the running maximum keeps every exponent at or below 0.
        var large = _ops.Upload(1000, 1000, 1000 - Math.Log(2));
        _ops.LogSoftmax(large, large, 3);
        Assert.That(OpData.Download(large),
            Is.EqualTo(new[] { -Math.Log(2.5), -Math.Log(2.5), -Math.Log(5) }).Within(1e-12)); // a few roundings of ulp(1000) ≈ 1.1e-13
    }
}
