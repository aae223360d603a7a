using ILGPU.Runtime.CPU;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The flash-attention kernels against <see cref="Attention.Reference"/> (float64 inside, rounded to float32). Key blocks
/// are one warp wide: 4 keys on the default simulated device, 32 on the NVIDIA-like one, so 7 keys are two ragged blocks
/// on the first and 37 keys two on the second; head dimensions 6 and 40 are multiples of neither warp. The cases cover
/// grouped queries (4 heads over 2 kv heads, 2 over 1), a padded sequence (its last rows output 0 and get no gradient,
/// its last keys none), and decoding (one query at position 5, one sequence too short to have it).
/// </summary>
[TestFixture(CPUDeviceKind.Default)]
[TestFixture(CPUDeviceKind.Nvidia)]
public class AttentionKernelTests(CPUDeviceKind kind) : CpuAcceleratorFixture(kind)
{
    private Attention.Ilgpu.Launcher _kernels = null!;

    [OneTimeSetUp]
    public void LoadKernels() => _kernels = new Attention.Ilgpu.Launcher(Accelerator);

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new AttentionShape(2, 7, 7, 4, 2, 6), new[] { 7, 5 }).SetArgDisplayNames("gqa 4 over 2, padding");
        yield return new TestCaseData(new AttentionShape(1, 37, 37, 2, 1, 40), new[] { 37 }).SetArgDisplayNames("37 keys, dim 40");
        yield return new TestCaseData(new AttentionShape(2, 1, 8, 4, 2, 6, QueryStart: 5), new[] { 6, 3 }).SetArgDisplayNames("decode");
    }

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchTheReference(AttentionShape shape, int[] lengths)
    {
        var random = new Random(shape.QueryLength);
        var q = RandomFloats(random, shape.Batch * shape.QueryLength * shape.QueryWidth);
        var k = RandomFloats(random, shape.Batch * shape.KeyLength * shape.KvWidth);
        var v = RandomFloats(random, k.Length);
        var outputGrad = RandomFloats(random, q.Length);
        var (qGrad, kGrad, vGrad) = (RandomFloats(random, q.Length), RandomFloats(random, k.Length), RandomFloats(random, v.Length));
        var expectedOutput = new float[q.Length];
        var expectedLse = new float[shape.Batch * shape.Heads * shape.QueryLength];
        Attention.Reference.Forward<float>(expectedOutput, expectedLse, q, k, v, lengths, shape);
        var (expectedQGrad, expectedKGrad, expectedVGrad) = ((float[])qGrad.Clone(), (float[])kGrad.Clone(), (float[])vGrad.Clone());
        Attention.Reference.Backward<float>(expectedQGrad, expectedKGrad, expectedVGrad, outputGrad, q, k, v, expectedOutput, expectedLse, lengths, shape);

        var output = Upload(Enumerable.Repeat(float.NaN, q.Length).ToArray());
        var lse = Upload(Enumerable.Repeat(float.NaN, expectedLse.Length).ToArray());
        var (qView, kView, vView, lengthsView) = (Upload(q), Upload(k), Upload(v), Upload(lengths));
        _kernels.Forward(output, lse, qView, kView, vView, lengthsView, shape);
        var (qGradView, kGradView, vGradView) = (Upload(qGrad), Upload(kGrad), Upload(vGrad));
        _kernels.Backward(qGradView, kGradView, vGradView, Upload(outputGrad), qView, kView, vView, output, lse, lengthsView, shape);

        var roundings = Roundings(shape);
        AssertWithin("output", Download(output), expectedOutput, roundings);
        AssertWithin("logSumExp", Download(lse), expectedLse, roundings);
        AssertWithin("qGrad", Download(qGradView), expectedQGrad, roundings);
        AssertWithin("kGrad", Download(kGradView), expectedKGrad, roundings);
        AssertWithin("vGrad", Download(vGradView), expectedVGrad, roundings);
    }

    /// <summary>
    /// How many float32 roundings, each at most u relative to the tensor's largest value, can reach one element. With
    /// every input in [−1, 1] a score is a dot product of length dim scaled by 1/√dim, off by at most dim·u·√dim; exp
    /// turns that into the same relative error of a probability. The other dot products (dO·v, dO·O, P·V, dS·k) add dim
    /// each, and the longest sum, a key's gradient over every query row of its heads, adds keys·heads/kvHeads. Four times
    /// that covers the reference's own final rounding and the log-sum-exp feeding every probability. Measured errors
    /// are a few u; a mask or head mapping off by one is off by more than 1e-2. Queries in [−s, s] scale the scores and
    /// their error by s.
    /// </summary>
    internal static double Roundings(AttentionShape shape, double queryScale = 1) =>
        4 * (queryScale * shape.HeadDim * Math.Sqrt(shape.HeadDim) + shape.HeadDim + shape.KeyLength * shape.Heads / shape.KvHeads);

    private static void AssertWithin(string name, float[] actual, float[] expected, double roundings)
    {
        var tolerance = roundings * U * Math.Max(1, expected.Max(Math.Abs));
        for (var i = 0; i < actual.Length; i++) Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance), $"{name}[{i}]");
    }
}
