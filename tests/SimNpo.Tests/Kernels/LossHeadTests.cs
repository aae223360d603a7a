using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// What the loss heads' cases share: rows of logits in [−3, 3] over a vocabulary, one row (none if negative) moved up by 80
/// where exp would overflow float32 without a running maximum, and backwards that overwrite the logits' gradient. The spec
/// (<see cref="CaseSize.Small"/>) keeps its stated bound on the reference; elsewhere the bounds derived for any float32 path.
/// </summary>
public abstract class LossHeadCase(string name, int rows, int vocab, CaseSize size, int shiftedRow) : OpCase(name, rows * vocab)
{
    public int Rows => rows;
    public int Vocab => vocab;

    public override double InputScale => 3;

    public override CaseSize Size => size;

    public override bool BackwardAdds => false;

    /// <summary>The float64 reference's log-sum-exp of each row, which the backward reads rounded to the element type.</summary>
    public abstract double[] LogSumExps(double[] logits);

    public override double[] Float32Bounds(OpResult result, OpBackend backend) =>
        backend == OpBackend.Reference && size == CaseSize.Small ? base.Float32Bounds(result, backend) : Float32Bounds(result);

    /// <summary>The bounds on any float32 path.</summary>
    protected abstract double[] Float32Bounds(OpResult result);

    /// <summary>|g|·(|lse| + k)·u of each element, g its row's output gradient: k roundings relative beside the log-sum-exp's.</summary>
    protected double[] GradientBounds(OpResult result, int lseRoundings)
    {
        var logSumExp = LogSumExps(result.Inputs[0]);
        return result.Exact.Select((_, i) => Math.Abs(result.OutputGrad![i / vocab]) * (Math.Abs(logSumExp[i / vocab]) + lseRoundings) * OpResult.U).ToArray();
    }

    public override double[][] RandomInputs(int seed)
    {
        var logits = base.RandomInputs(seed)[0];
        for (var j = 0; shiftedRow >= 0 && j < vocab; j++) logits[shiftedRow * vocab + j] = (float)(logits[shiftedRow * vocab + j] + 80);
        return [logits];
    }
}

/// <summary>
/// What the loss heads' cases (<see cref="OpAgreementTests"/>) do not check, on every backend and storage with the shaped
/// cases' data (five rows over 37, row 3 shifted by 80, an ignored row): the log-sum-exps each backend keeps for its
/// backward, within <see cref="LogSoftmaxAtLabelsCase.LogSumExpBound"/>; an ignored row's exact zeros; backwards that give
/// the same bits in place over the logits as into a separate buffer; and the log-softmax, a forward without a backward.
/// With bfloat16 bulk storage the logits and targets are rounded to bfloat16 first, so the reference sees the numbers the
/// op reads; the statistics are float32 and keep their float32 bounds, a stored bfloat16 log-softmax is the float32 one
/// rounded once more, by at most 2⁻⁸ of itself: within 2⁻⁸·|exact| + 2e.
/// </summary>
public class LossHeadTests
{
    private static readonly LogSoftmaxAtLabelsCase Labelled = LogSoftmaxAtLabelsCase.Shaped;
    private static readonly KlDivergenceCase Kl = KlDivergenceCase.Shaped;

    public static IEnumerable<TestCaseData> Cases() =>
        from backend in OpBackend.All
        from storage in backend.Storages(Kl)
        select new TestCaseData(backend, storage).SetArgDisplayNames(backend.ToString(), storage.ToString());

    [TestCaseSource(nameof(Cases))]
    public void LogSoftmaxAtLabelsKeepsItsLogSumExpsAndWorksInPlace(OpBackend backend, Storage bulk)
    {
        var ops = backend.Ops;
        var logits = Stored(bulk, Labelled.RandomInputs(seed: 1)[0]);
        var expected = Labelled.LogSumExps(logits);
        var logitsView = ops.Upload(bulk, logits);
        var (logProb, logSumExp) = Labelled.Run(ops, logitsView);
        AssertLogSumExps(OpData.Download(logSumExp), expected, Labelled.Vocab);
        Assert.That((OpData.Download(logProb)[1], OpData.Download(logSumExp)[1]), Is.EqualTo((0.0, 0.0)), "the ignored row");

        var (labels, grad) = (ops.UploadInts(Labelled.Labels), ops.Upload(0.5, 2, -3, 1.5, -0.25));
        var separate = ops.Upload(bulk, Enumerable.Repeat(99.0, logits.Length).ToArray());
        ops.LogSoftmaxAtLabelsBackward(separate, logitsView, logSumExp, labels, grad, Labelled.Vocab);
        ops.LogSoftmaxAtLabelsBackward(logitsView, logitsView, logSumExp, labels, grad, Labelled.Vocab);
        var actual = OpData.Download(separate);
        Assert.That(OpData.Download(logitsView), Is.EqualTo(actual), "in place, each element is read just before it is replaced");
        Assert.That(actual[Labelled.Vocab..(2 * Labelled.Vocab)], Is.All.EqualTo(0), "the ignored row");
    }

    [TestCaseSource(nameof(Cases))]
    public void KlDivergenceKeepsItsLogSumExpsAndWorksInPlace(OpBackend backend, Storage bulk)
    {
        var ops = backend.Ops;
        var logits = Stored(bulk, Kl.RandomInputs(seed: 4)[0]);
        var logitsView = ops.Upload(bulk, logits);
        var logSumExp = Kl.Run(ops, logitsView).LogSumExp;
        AssertLogSumExps(OpData.Download(logSumExp), Kl.LogSumExps(logits), Kl.Vocab);

        var (targets, weights) = (ops.Upload(bulk, Kl.Targets), ops.Upload(0.5, -2, 3, 1, 0.25));
        var separate = ops.Upload(bulk, Enumerable.Repeat(99.0, logits.Length).ToArray());
        ops.KlDivergenceBackward(separate, logitsView, logSumExp, targets, weights, Kl.Vocab);
        ops.KlDivergenceBackward(logitsView, logitsView, logSumExp, targets, weights, Kl.Vocab);
        Assert.That(OpData.Download(logitsView), Is.EqualTo(OpData.Download(separate)), "in place, each element is read just before it is replaced");
    }

    /// <summary>Each log-probability within <see cref="LogSoftmaxAtLabelsCase.LogSoftmaxBound"/>, stored in the logits' storage.</summary>
    [TestCaseSource(nameof(Cases))]
    public void LogSoftmaxSeparateAndInPlaceMatchTheReference(OpBackend backend, Storage bulk)
    {
        var ops = backend.Ops;
        var logits = Stored(bulk, Labelled.RandomInputs(seed: 3)[0]);
        var expected = new double[logits.Length];
        LogSoftmax.Reference.Forward<double>(expected, logits, Labelled.Vocab);
        var (inPlace, separate) = (ops.Upload(bulk, logits), ops.Allocate(logits.Length, bulk).All);
        ops.LogSoftmax(separate, inPlace, Labelled.Vocab);
        ops.LogSoftmax(inPlace, inPlace, Labelled.Vocab);
        var actual = OpData.Download(separate);
        Assert.That(OpData.Download(inPlace), Is.EqualTo(actual));
        for (var i = 0; i < actual.Length; i++)
        {
            var e = LogSoftmaxAtLabelsCase.LogSoftmaxBound(expected[i], Labelled.Vocab);
            var tolerance = bulk == Storage.BFloat16 ? BFloat16.UnitRoundoff * Math.Abs(expected[i]) + 2 * e : e;
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance), $"element {i}");
        }
    }

    private static void AssertLogSumExps(double[] actual, double[] expected, int vocab)
    {
        for (var r = 0; r < expected.Length; r++)
            Assert.That(actual[r], Is.EqualTo(expected[r]).Within(LogSoftmaxAtLabelsCase.LogSumExpBound(expected[r], vocab)), $"row {r}");
    }

    private static double[] Stored(Storage bulk, double[] values) => bulk == Storage.BFloat16 ? OpData.RoundToBFloat16(values) : values;
}
