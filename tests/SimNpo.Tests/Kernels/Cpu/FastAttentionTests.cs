using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;

namespace SimNpo.Tests.Kernels.Cpu;

/// <summary>
/// The flash-style CPU attention (48×48 tiles) beyond what <see cref="OpAgreementTests"/> checks of it in float32: the
/// attention cases (<see cref="AttentionCase"/>) in bfloat16, whose reference backward must read the stored output, and
/// padding that is never read.
/// </summary>
public class FastAttentionTests
{
    private const double U = 1.0 / (1 << 24);

    /// <summary>The device kernels' and the fast path's cases (not the spec's): as many as this test ran before.</summary>
    public static IEnumerable<TestCaseData> Cases() =>
        AttentionCase.Cases.Where(c => c.Size != CaseSize.Small).Select(c => new TestCaseData(c).SetArgDisplayNames(c.ToString()));

    /// <summary>
    /// The cases with q, k, v, the output, the output gradient and the q, k, v gradients stored as bfloat16 (the
    /// log-sum-exp float32), all data rounded to bfloat16 first. The tiles are widened into float32 scratch and every
    /// stored value is the float32 result rounded once, so the bound is the float32 one plus 2⁻⁸ of the tensor's largest
    /// value and of that bound (the gradients are summed over every tile and head in float32 and added to their bfloat16 start once). The
    /// backward's D = dO·O reads the stored (rounded) output, so the reference's backward is given that same output.
    /// A second call gives the same bits.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void BFloat16StorageMatchesTheFloat64Reference(AttentionCase attention)
    {
        var (shape, lengths) = (attention.Shape, attention.Lengths);
        var data = AttentionData.Random(shape, attention.QueryScale, seed: shape.QueryLength + shape.HeadDim).RoundedToBFloat16();
        var actual = data.RunFast(lengths, Storage.BFloat16);
        Assert.That(data.RunFast(lengths, Storage.BFloat16), Is.EqualTo(actual), "a second call gives the same bits");
        var expected = data.RunReference(lengths, backwardOutput: actual[0]);
        var roundings = AttentionCase.Roundings(shape, attention.QueryScale);
        string[] names = ["output", "logSumExp", "qGrad", "kGrad", "vGrad"];
        for (var n = 0; n < names.Length; n++)
        {
            var storage = n == 1 ? 0 : BFloat16.UnitRoundoff;
            var tolerance = (storage + (1 + storage) * roundings * U) * Math.Max(1, expected[n].Max(Math.Abs));
            Assert.That(actual[n], Is.EqualTo(expected[n]).Within(tolerance), names[n]);
        }
    }

    /// <summary>
    /// NaN in every row past a sequence's length (its queries, keys, values and output gradients) reaches nothing: the
    /// padding rows output exactly 0 with log-sum-exp 0 and keep their gradients, and all the rest is bit for bit what it
    /// is with finite padding. A second call gives the same bits: each element has one writer summing in a fixed order.
    /// </summary>
    [Test]
    public void PaddingIsNeverReadAndCallsRepeatBitForBit()
    {
        var shape = new AttentionShape(2, 100, 100, 4, 2, 48);
        int[] lengths = [100, 61];
        var data = AttentionData.Random(shape, 1, seed: 5);
        var finite = data.RunFast(lengths);
        Assert.That(data.RunFast(lengths), Is.EqualTo(finite), "a second call");

        var poisoned = data.WithPadding(lengths, float.NaN);
        var actual = poisoned.RunFast(lengths);
        for (var n = 0; n < actual.Length; n++)
            for (var i = 0; i < actual[n].Length; i++)
            {
                var padding = data.IsPadding(AttentionData.ResultLayouts[n], i, lengths);
                var expected = padding ? (n < 2 ? 0 : data.InitialGrads[n - 2][i]) : finite[n][i];
                if (!actual[n][i].Equals(expected)) Assert.Fail($"result {n}, element {i}{(padding ? " (padding)" : "")}: {actual[n][i]}, expected {expected}");
            }
    }

    private enum Layout { Queries, Keys, LogSumExps }

    /// <summary>One call's float32 inputs and the random values its gradients start from.</summary>
    private sealed record AttentionData(AttentionShape Shape, double[] Q, double[] K, double[] V, double[] OutputGrad, double[][] InitialGrads)
    {
        public static AttentionData Random(AttentionShape shape, double queryScale, int seed)
        {
            var random = new Random(seed);
            var (q, k, v) = (OpData.Random(random, QueryLength(shape), queryScale), OpData.Random(random, KeyLength(shape)),
                OpData.Random(random, KeyLength(shape)));
            var initialGrads = new[] { QueryLength(shape), KeyLength(shape), KeyLength(shape) }.Select(n => OpData.Random(random, n)).ToArray();
            return new AttentionData(shape, q, k, v, OpData.Random(random, QueryLength(shape)), initialGrads);
        }

        /// <summary>
        /// Output, log-sum-exp and the q, k, v gradients of the float64 reference (it reads only what it must); its backward
        /// reads <paramref name="backwardOutput"/> where given, else its own output.
        /// </summary>
        public double[][] RunReference(int[] lengths, double[]? backwardOutput = null)
        {
            var output = new double[Q.Length];
            var logSumExp = new double[Shape.Batch * Shape.Heads * Shape.QueryLength];
            Attention.Reference.Forward<double>(output, logSumExp, Q, K, V, lengths, Shape);
            var grads = InitialGrads.Select(g => g.ToArray()).ToArray();
            Attention.Reference.Backward<double>(grads[0], grads[1], grads[2], OutputGrad, Q, K, V, backwardOutput ?? output, logSumExp, lengths, Shape);
            return [output, logSumExp, .. grads];
        }

        /// <summary>
        /// The same from <see cref="FastCpuOps"/>, whose backward reads its own forward's output and log-sum-exp; every
        /// tensor but the log-sum-exp in the given storage.
        /// </summary>
        public double[][] RunFast(int[] lengths, Storage storage = Storage.Native)
        {
            IOps<float> ops = new FastCpuOps();
            var (q, k, v) = (ops.Upload(storage, Q), ops.Upload(storage, K), ops.Upload(storage, V));
            var output = ops.Upload(storage, Enumerable.Repeat(double.NaN, Q.Length).ToArray()); // overwritten, never read
            var logSumExp = ops.Upload(Enumerable.Repeat(double.NaN, Shape.Batch * Shape.Heads * Shape.QueryLength).ToArray());
            var lengthsView = ops.UploadInts(lengths);
            ops.Attention(output, logSumExp, q, k, v, lengthsView, Shape);
            var grads = InitialGrads.Select(g => ops.Upload(storage, g)).ToArray();
            ops.AttentionBackward(grads[0], grads[1], grads[2], ops.Upload(storage, OutputGrad), q, k, v, output, logSumExp, lengthsView, Shape);
            return [OpData.Download(output), OpData.Download(logSumExp), .. grads.Select(OpData.Download)];
        }

        /// <summary>How each of the results of <see cref="RunFast"/> is laid out: output, log-sum-exp, then the q, k, v gradients.</summary>
        public static readonly Layout[] ResultLayouts = [Layout.Queries, Layout.LogSumExps, Layout.Queries, Layout.Keys, Layout.Keys];

        /// <summary>These inputs and starting gradients rounded to bfloat16.</summary>
        public AttentionData RoundedToBFloat16() => this with
        {
            Q = OpData.RoundToBFloat16(Q), K = OpData.RoundToBFloat16(K), V = OpData.RoundToBFloat16(V), OutputGrad = OpData.RoundToBFloat16(OutputGrad),
            InitialGrads = InitialGrads.Select(OpData.RoundToBFloat16).ToArray(),
        };

        /// <summary>These inputs with every row past its sequence's length set to the given value.</summary>
        public AttentionData WithPadding(int[] lengths, double value)
        {
            double[] Fill(double[] x, Layout layout) => x.Select((e, i) => IsPadding(layout, i, lengths) ? value : e).ToArray();
            return this with { Q = Fill(Q, Layout.Queries), K = Fill(K, Layout.Keys), V = Fill(V, Layout.Keys), OutputGrad = Fill(OutputGrad, Layout.Queries) };
        }

        /// <summary>Whether element i of a tensor so laid out belongs to a position at or past its sequence's length.</summary>
        public bool IsPadding(Layout layout, int i, int[] lengths)
        {
            var (batch, position) = layout switch
            {
                Layout.Queries => (i / (Shape.QueryLength * Shape.QueryWidth), Shape.QueryStart + i / Shape.QueryWidth % Shape.QueryLength),
                Layout.Keys => (i / (Shape.KeyLength * Shape.KvWidth), i / Shape.KvWidth % Shape.KeyLength),
                _ => (i / (Shape.Heads * Shape.QueryLength), Shape.QueryStart + i % Shape.QueryLength),
            };
            return position >= lengths[batch];
        }

        private static int QueryLength(AttentionShape shape) => shape.Batch * shape.QueryLength * shape.QueryWidth;

        private static int KeyLength(AttentionShape shape) => shape.Batch * shape.KeyLength * shape.KvWidth;
    }
}
