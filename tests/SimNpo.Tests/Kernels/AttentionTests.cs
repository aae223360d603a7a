using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// Attention as a function of q, k and v, under a given shape and sequence lengths, with queries in [−s, s] (s the query
/// scale; keys and values in [−1, 1]). The spec: grouped queries with padding, and queries that start late. For the flash
/// kernels of the simulated devices, whose key blocks are one warp wide (4 keys on the default device, 32 on the
/// NVIDIA-like one, so 7 keys are two ragged blocks on the first and 37 keys two on the second; head dimensions 6 and 40
/// are multiples of neither warp): grouped queries with a padded sequence (its last rows output 0 and get no gradient,
/// its last keys none), 37 keys, and decoding (one query at position 5, one sequence too short to have it). For the fast
/// CPU path's 48×48 tiles: several tiles with a causal diagonal inside each, queries that start late (50 over 70 cached
/// keys), head dimensions 48 and 64 (padded to whole 16-wide panels or not) and a peaked softmax (queries in [−4, 4]).
/// Sliding windows: a window of 1 (each query sees itself alone), windows shorter than the sequence with padding, grouped
/// queries and queries that start late (decoding among them), and windows as long as the sequence or longer (full causal
/// attention). With warps of 4 and 32 and the fast path's tiles of 48, the windows of 3, 5, 20 and 30 leave whole key
/// blocks of a row (or of a block of rows) outside, which the kernels skip, and cut others in two, which they mask.
/// </summary>
public class AttentionCase(string name, AttentionShape shape, int[] lengths, CaseSize size, double queryScale = 1)
    : OpCase(name, shape.Batch * shape.QueryLength * shape.QueryWidth, shape.Batch * shape.KeyLength * shape.KvWidth,
        shape.Batch * shape.KeyLength * shape.KvWidth)
{
    /// <summary>Four query heads over two kv heads; the second sequence is two tokens long, its last two rows padding.</summary>
    public static AttentionCase GroupedWithPadding
        => new("attention, grouped, padded", new(Batch: 2, QueryLength: 4, KeyLength: 4, Heads: 4, KvHeads: 2, HeadDim: 3), [4, 2], CaseSize.Small);

    /// <summary>Queries at positions 3 and 4 over five cached keys, one kv head; position 4 is padding in the second sequence.</summary>
    public static AttentionCase QueryOffset
        => new("attention, query offset", new(Batch: 2, QueryLength: 2, KeyLength: 5, Heads: 2, KvHeads: 1, HeadDim: 4, QueryStart: 3), [5, 4],
            CaseSize.Small);

    /// <summary>
    /// A window of one key: each query sees only itself, so its output is its own value row, and q and k get no gradient
    /// (a softmax over one score is 1 whatever the score): shaped, not small, since GradientTests wants some gradient of each input.
    /// </summary>
    public static AttentionCase WindowOfOne
        => new("attention window 1, padding", new(Batch: 2, QueryLength: 5, KeyLength: 5, Heads: 2, KvHeads: 1, HeadDim: 4, Window: 1), [5, 3],
            CaseSize.Shaped);

    /// <summary>Two queries at positions 3 and 4 over five cached keys, each seeing the last two keys up to itself.</summary>
    public static AttentionCase WindowedQueryOffset
        => new("attention, window 2, query offset", new(Batch: 2, QueryLength: 2, KeyLength: 5, Heads: 2, KvHeads: 1, HeadDim: 4, QueryStart: 3, Window: 2),
            [5, 4], CaseSize.Small);

    public static readonly AttentionCase[] Cases =
    [
        GroupedWithPadding, QueryOffset, WindowOfOne, WindowedQueryOffset,
        new("attention, window 3 of 5, grouped, padded", new(Batch: 2, QueryLength: 5, KeyLength: 5, Heads: 4, KvHeads: 2, HeadDim: 3, Window: 3), [5, 4],
            CaseSize.Small),
        new("attention, window as long as the sequence", new(Batch: 2, QueryLength: 4, KeyLength: 4, Heads: 4, KvHeads: 2, HeadDim: 3, Window: 4), [4, 2],
            CaseSize.Small),
        new("attention window 3, gqa 4 over 2, padding", new AttentionShape(2, 7, 7, 4, 2, 6, Window: 3), [7, 5], CaseSize.Shaped),
        new("attention window 5, 37 keys", new AttentionShape(1, 37, 37, 2, 1, 6, Window: 5), [37], CaseSize.Shaped),
        new("attention decode, window 3", new AttentionShape(2, 1, 8, 4, 2, 6, QueryStart: 5, Window: 3), [6, 3], CaseSize.Shaped),
        new("attention window past the keys", new AttentionShape(2, 7, 7, 2, 1, 6, Window: 100), [7, 5], CaseSize.Shaped),
        new("attention gqa 4 over 2, padding", new AttentionShape(2, 7, 7, 4, 2, 6), [7, 5], CaseSize.Shaped),
        new("attention 37 keys, dim 40", new AttentionShape(1, 37, 37, 2, 1, 40), [37], CaseSize.Shaped),
        new("attention decode", new AttentionShape(2, 1, 8, 4, 2, 6, QueryStart: 5), [6, 3], CaseSize.Shaped),
        new("attention 3 tiles, dim 48, padding", new AttentionShape(2, 100, 100, 4, 2, 48), [100, 61], CaseSize.Ranged),
        new("attention late queries", new AttentionShape(2, 20, 70, 3, 1, 20, QueryStart: 50), [70, 58], CaseSize.Ranged),
        new("attention dim 64, peaked", new AttentionShape(1, 130, 130, 2, 2, 64), [130], CaseSize.Ranged, queryScale: 4),
        new("attention 3 tiles, window 20, padding", new AttentionShape(2, 100, 100, 4, 2, 48, Window: 20), [100, 61], CaseSize.Ranged),
        new("attention late queries, window 30", new AttentionShape(2, 20, 130, 3, 1, 20, QueryStart: 100, Window: 30), [130, 110], CaseSize.Ranged),
    ];

    public AttentionShape Shape => shape;
    public int[] Lengths => lengths;
    public double QueryScale => queryScale;

    public override CaseSize Size => size;

    // The spec on the reference: scores, softmax and sums in float64; float32 rounds the stored output (entering D_i) and
    // the log-sum-exp, whose rounding error u·|lse| with |lse| < 3 here scales every recomputed probability, then each result once.
    public override int Float32Roundings => 8;

    /// <summary>See <see cref="OpCase.RunsInBFloat16"/>: Cpu/FastAttentionTests runs these cases in bfloat16.</summary>
    public override bool RunsInBFloat16 => false;

    /// <summary>
    /// How many float32 roundings, each at most u relative to the tensor's largest value, can reach one element on any
    /// float32 path. With keys and values in [−1, 1] a score is a dot product of length dim scaled by 1/√dim, off by at most
    /// dim·u·√dim; exp turns that into the same relative error of a probability. The other dot products (dO·v, dO·O, P·V,
    /// dS·k) add dim each, and the longest sum, a key's gradient over every query row of its heads, adds keys·heads/kvHeads.
    /// Four times that covers the reference's own final rounding and the log-sum-exp feeding every probability. Measured
    /// errors are a few u (under 10 where this bound is 139 to 8968); a mask or head mapping off by one is off by more than
    /// 1e-2 (one key dropped from a row of 130 is off by 1/130). Queries in [−s, s] scale the scores and their error by s.
    /// </summary>
    public static double Roundings(AttentionShape shape, double queryScale = 1) =>
        4 * (queryScale * shape.HeadDim * Math.Sqrt(shape.HeadDim) + shape.HeadDim + shape.KeyLength * shape.Heads / shape.KvHeads);

    /// <summary><see cref="Roundings"/> of each result's largest value, on every backend; the spec keeps its stated bound on the reference.</summary>
    public override double[] Float32Bounds(OpResult result, OpBackend backend) =>
        backend == OpBackend.Reference && size == CaseSize.Small
            ? base.Float32Bounds(result, backend)
            : result.Uniform(Roundings(shape, queryScale) * OpResult.U * result.Scale);

    public override double[][] RandomInputs(int seed)
    {
        var random = new Random(seed);
        return InputLengths.Select((length, n) => OpData.Random(random, length, n == 0 ? queryScale : 1)).ToArray();
    }

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs) => Run(ops, inputs).Output;

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
    {
        var (output, logSumExp) = Run(ops, inputs);
        ops.AttentionBackward(inputGrads[0], inputGrads[1], inputGrads[2], outputGrad, inputs[0], inputs[1], inputs[2], output, logSumExp,
            ops.UploadInts(lengths), shape);
    }

    /// <summary>The output is NaN before the call: an op that read it instead of overwriting it would give NaN.</summary>
    public (View<T> Output, View<T> LogSumExp) Run<T>(IOps<T> ops, View<T>[] inputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var output = ops.Allocate(inputs[0].Length, inputs[0].Storage).All;
        output.CopyFrom(Enumerable.Repeat(T.NaN, output.Length).ToArray());
        var logSumExp = ops.Allocate(shape.Batch * shape.Heads * shape.QueryLength).All;
        ops.Attention(output, logSumExp, inputs[0], inputs[1], inputs[2], ops.UploadInts(lengths), shape);
        return (output, logSumExp);
    }
}

public class AttentionTests
{
    private readonly IOps<double> _ops = new ReferenceOps<double>();

    [TestCaseSource(nameof(Cases))]
    public void ForwardMatchesANaiveMaskedSoftmax(AttentionCase attention)
    {
        var shape = attention.Shape;
        var (q, k, v, actual, actualLse) = RunOnReference(attention);
        for (var b = 0; b < shape.Batch; b++)
            for (var h = 0; h < shape.Heads; h++)
                for (var i = 0; i < shape.QueryLength; i++)
                {
                    var row = actual.AsSpan((b * shape.QueryLength + i) * shape.QueryWidth + h * shape.HeadDim, shape.HeadDim).ToArray();
                    var (expected, expectedLse) = NaiveRow(shape, attention.Lengths[b], q, k, v, b, h, i);
                    // float64 on both sides: sums of at most five O(1) terms, rounded differently.
                    Assert.That(row, Is.EqualTo(expected).Within(1e-14), $"b {b}, head {h}, query {i}");
                    Assert.That(actualLse[(b * shape.Heads + h) * shape.QueryLength + i], Is.EqualTo(expectedLse).Within(1e-14));
                }
    }

    [Test]
    public void PaddingRowsOutputZeroAndPaddingKeysAreIgnored()
    {
        var attention = AttentionCase.GroupedWithPadding; // sequence 1 has length 2 of 4
        var shape = attention.Shape;
        var (q, k, v) = RandomInputs(attention);
        var before = OpData.Download(attention.Run(_ops, [_ops.Upload(q), _ops.Upload(k), _ops.Upload(v)]).Output);
        for (var j = 2; j < shape.KeyLength; j++)
            for (var c = 0; c < shape.KvWidth; c++) k[(shape.KeyLength + j) * shape.KvWidth + c] = v[(shape.KeyLength + j) * shape.KvWidth + c] = 1000;
        var after = OpData.Download(attention.Run(_ops, [_ops.Upload(q), _ops.Upload(k), _ops.Upload(v)]).Output);
        Assert.That(after, Is.EqualTo(before), "keys and values past the length change nothing");
        var paddingRows = after.AsSpan((shape.QueryLength + 2) * shape.QueryWidth, 2 * shape.QueryWidth).ToArray();
        Assert.That(paddingRows, Is.All.EqualTo(0));
    }

    [Test]
    public void DecodingOneQueryWithACacheMatchesTheLastRowOfFullAttention()
    {
        var full = new AttentionShape(Batch: 1, QueryLength: 5, KeyLength: 5, Heads: 4, KvHeads: 2, HeadDim: 4);
        var random = new Random(11);
        var (q, k, v) = (OpData.Random(random, 5 * full.QueryWidth), OpData.Random(random, 5 * full.KvWidth), OpData.Random(random, 5 * full.KvWidth));
        var fullCase = new AttentionCase("full", full, [5], CaseSize.Small);
        var (fullOutput, fullLse) = fullCase.Run(_ops, [_ops.Upload(q), _ops.Upload(k), _ops.Upload(v)]);

        // A cache of capacity 8 holding five positions; the unused slots hold garbage that must not be read.
        var decode = full with { QueryLength = 1, KeyLength = 8, QueryStart = 4 };
        var garbage = Enumerable.Repeat(1e3, 3 * full.KvWidth);
        var decodeCase = new AttentionCase("decode", decode, [5], CaseSize.Small);
        var (output, lse) = decodeCase.Run(_ops, [_ops.Upload(q[(4 * full.QueryWidth)..]), _ops.Upload([.. k, .. garbage]), _ops.Upload([.. v, .. garbage])]);

        Assert.That(OpData.Download(output), Is.EqualTo(OpData.Download(fullOutput)[(4 * full.QueryWidth)..]).Within(1e-15));
        var lastRowLse = Enumerable.Range(0, full.Heads).Select(h => OpData.Download(fullLse)[h * 5 + 4]);
        Assert.That(OpData.Download(lse), Is.EqualTo(lastRowLse).Within(1e-15));
    }

    /// <summary>
    /// The window's definition without the implementation's mask: with window W the query at position p of a sequence is
    /// full causal attention (no window) of that query over the sub-sequence of keys (p − W, p] alone, its last query.
    /// Both sides are the float64 reference: the same terms summed in the same order, so they agree to a few ulps.
    /// </summary>
    [TestCaseSource(nameof(WindowedCases))]
    public void AWindowedQueryIsFullAttentionOverItsWindowsKeysAlone(AttentionCase attention)
    {
        var shape = attention.Shape;
        var (q, k, v, actual, actualLse) = RunOnReference(attention);
        for (var b = 0; b < shape.Batch; b++)
            for (var i = 0; shape.QueryStart + i < attention.Lengths[b] && i < shape.QueryLength; i++)
            {
                var position = shape.QueryStart + i;
                var first = Math.Max(0, position - shape.Window + 1);
                var keys = position + 1 - first;
                var alone = new AttentionShape(1, 1, keys, shape.Heads, shape.KvHeads, shape.HeadDim, QueryStart: keys - 1);
                var query = q.AsSpan((b * shape.QueryLength + i) * shape.QueryWidth, shape.QueryWidth).ToArray();
                var keyRows = ((b * shape.KeyLength + first) * shape.KvWidth)..((b * shape.KeyLength + position + 1) * shape.KvWidth);
                var (expected, expectedLse) = new AttentionCase("alone", alone, [keys], CaseSize.Small)
                    .Run(_ops, [_ops.Upload(query), _ops.Upload(k[keyRows]), _ops.Upload(v[keyRows])]);
                var row = actual.AsSpan((b * shape.QueryLength + i) * shape.QueryWidth, shape.QueryWidth).ToArray();
                Assert.That(row, Is.EqualTo(OpData.Download(expected)).Within(1e-14), $"b {b}, query {i}");
                var lses = Enumerable.Range(0, shape.Heads).Select(h => actualLse[(b * shape.Heads + h) * shape.QueryLength + i]);
                Assert.That(lses, Is.EqualTo(OpData.Download(expectedLse)).Within(1e-14), $"b {b}, query {i}");
            }
    }

    /// <summary>
    /// A window as long as the sequence or longer is no window, to the bit, on every backend, forward and backward: the
    /// kernels visit the same key blocks and sum in the same order as without one. In bfloat16 too on the fast CPU path
    /// (its own tiles); the simulated devices run this head dimension's bfloat16 on the float32 kernels already run here,
    /// and Ilgpu/AttentionBf16KernelTests checks the tensor-core kernels.
    /// </summary>
    [TestCaseSource(nameof(BackendsAndStorages))]
    public void AWindowAsLongAsTheSequenceChangesNoBit(OpBackend backend, Storage bulk)
    {
        var shape = new AttentionShape(2, 7, 7, 4, 2, 6);
        int[] lengths = [7, 5];
        var plain = new AttentionCase("no window", shape, lengths, CaseSize.Shaped);
        var inputs = plain.RandomInputs(seed: 3);
        var random = new Random(4);
        var outputGrad = OpData.Random(random, inputs[0].Length);
        var initialGrads = inputs.Select(x => OpData.Random(random, x.Length)).ToArray();
        var expected = OpRuns.Forward(plain, backend.Ops, inputs, bulk);
        var expectedGrads = OpRuns.Backward(plain, backend.Ops, inputs, outputGrad, initialGrads, bulk);
        foreach (var window in new[] { 7, 1000 })
        {
            var windowed = new AttentionCase($"window {window}", shape with { Window = window }, lengths, CaseSize.Shaped);
            Assert.That(OpRuns.Forward(windowed, backend.Ops, inputs, bulk), Is.EqualTo(expected), $"window {window}: output");
            Assert.That(OpRuns.Backward(windowed, backend.Ops, inputs, outputGrad, initialGrads, bulk), Is.EqualTo(expectedGrads),
                $"window {window}: gradients");
        }
    }

    public static IEnumerable<AttentionCase> Cases =>
        [AttentionCase.GroupedWithPadding, AttentionCase.QueryOffset, AttentionCase.WindowOfOne, AttentionCase.WindowedQueryOffset];

    public static IEnumerable<AttentionCase> WindowedCases => AttentionCase.Cases.Where(c => c.Shape.Window > 0);

    public static IEnumerable<TestCaseData> BackendsAndStorages() =>
        from backend in OpBackend.All
        from storage in backend.StoresBFloat16 && !backend.IsSimulator ? new[] { Storage.Native, Storage.BFloat16 } : [Storage.Native]
        select new TestCaseData(backend, storage).SetArgDisplayNames(backend.ToString(), storage.ToString());

    /// <summary>The case's random inputs and the float64 reference's output and log-sum-exps on them.</summary>
    private (double[] Q, double[] K, double[] V, double[] Output, double[] LogSumExp) RunOnReference(AttentionCase attention)
    {
        var (q, k, v) = RandomInputs(attention);
        var (output, logSumExp) = attention.Run(_ops, [_ops.Upload(q), _ops.Upload(k), _ops.Upload(v)]);
        return (q, k, v, OpData.Download(output), OpData.Download(logSumExp));
    }

    private static (double[] Q, double[] K, double[] V) RandomInputs(AttentionCase attention)
    {
        var inputs = attention.RandomInputs(seed: 12);
        return (inputs[0], inputs[1], inputs[2]);
    }

    /// <summary>
    /// Softmax over the visible keys written out directly: exp(s_j) / Σ exp(s), without any max shift, over the keys
    /// j ≤ position and, with a window W, j &gt; position − W.
    /// </summary>
    private static (double[] Output, double LogSumExp) NaiveRow(AttentionShape shape, int length, double[] q, double[] k, double[] v, int b, int h, int i)
    {
        var output = new double[shape.HeadDim];
        var position = shape.QueryStart + i;
        if (position >= length) return (output, 0);
        var kvHead = h * shape.KvHeads / shape.Heads;
        double Q(int d) => q[(b * shape.QueryLength + i) * shape.QueryWidth + h * shape.HeadDim + d];
        double K(int j, int d) => k[(b * shape.KeyLength + j) * shape.KvWidth + kvHead * shape.HeadDim + d];
        double V(int j, int d) => v[(b * shape.KeyLength + j) * shape.KvWidth + kvHead * shape.HeadDim + d];
        var first = shape.Window == 0 ? 0 : Math.Max(0, position - shape.Window + 1);
        var weights = Enumerable.Range(first, position + 1 - first)
            .Select(j => Math.Exp(Enumerable.Range(0, shape.HeadDim).Sum(d => Q(d) * K(j, d)) / Math.Sqrt(shape.HeadDim))).ToArray();
        var total = weights.Sum();
        for (var j = first; j <= position; j++)
            for (var d = 0; d < shape.HeadDim; d++) output[d] += weights[j - first] / total * V(j, d);
        return (output, Math.Log(total));
    }
}
