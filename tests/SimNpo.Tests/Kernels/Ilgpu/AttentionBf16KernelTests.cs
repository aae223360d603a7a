using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// bfloat16 attention (<see cref="AttentionBf16"/>) against <see cref="Attention.Reference"/> in float64, run on the
/// same bf16-rounded q, k, v, output gradient and starting gradients the kernels read. On the NVIDIA-like device (warps
/// of 32) head dimensions 16, 48, 64 and 128 run the tensor-core kernels with the mma instruction emulated by warp
/// shuffles; 8 (not a multiple of 16) and every shape on the default device (warps of 4) run the float32 fallback.
/// Blocks are up to 64 query rows (a warp per 16) and 64 keys (32 from head dimension 80 on), so 66 rows cross a block
/// edge in both directions, 20 rows span two warps, and 40 rows at dimension 128 cross two 32-key blocks. (Every
/// emulated mma is a dozen warp barriers of 32 OS threads on the simulator: shapes stay this small.) Cases cover GQA (4 heads over 2 kv heads,
/// 2 over 1), right padding (a sequence shorter than the keys, its last rows output 0 and get no gradient), and
/// decoding (one query at position 5; one sequence too short to have it). Sliding windows: masked inside a block of keys
/// (windows of 1 and 8 over 20 and 24 rows, narrow and wide kernels, and the fallback), and past whole blocks: a
/// decoding query at position 70 with a window of 5 starts at the second block of 64 keys (the first key block of the
/// dK/dV pass has no row that sees it), and 16 queries from position 84 with a window of 4 leave that pass's warp of
/// keys 64–79 outside every row's window.
/// </summary>
[TestFixture(CPUDeviceKind.Nvidia)]
[TestFixture(CPUDeviceKind.Default)]
public class AttentionBf16KernelTests(CPUDeviceKind kind) : CpuAcceleratorFixture(kind)
{
    private const double Bf16 = BFloat16.UnitRoundoff; // 2^-8
    private AttentionBf16.Launcher? _kernels;
    private readonly List<IDisposable> _words = [];

    [OneTimeSetUp]
    public void LoadKernels() =>
        _kernels = new AttentionBf16.Launcher(Accelerator, new Attention.Ilgpu.Launcher(Accelerator),
            new SimNpo.Kernels.Conversion.Ilgpu.Launcher(Accelerator));

    [OneTimeTearDown]
    public void DisposeKernels() => _kernels?.Dispose();

    [TearDown]
    public void DisposeWords()
    {
        foreach (var buffer in _words) buffer.Dispose();
        _words.Clear();
    }

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new AttentionShape(2, 66, 66, 2, 1, 16), new[] { 66, 40 }).SetArgDisplayNames("dim 16, gqa 2 over 1, 66 rows, padding");
        yield return new TestCaseData(new AttentionShape(1, 20, 20, 4, 2, 64), new[] { 17 }).SetArgDisplayNames("dim 64, gqa 4 over 2, 20 rows, padding");
        yield return new TestCaseData(new AttentionShape(1, 40, 40, 1, 1, 128), new[] { 37 }).SetArgDisplayNames("dim 128, 40 rows, padding");
        yield return new TestCaseData(new AttentionShape(1, 8, 8, 1, 1, 48), new[] { 8 }).SetArgDisplayNames("dim 48, 8 rows");
        yield return new TestCaseData(new AttentionShape(2, 1, 8, 4, 2, 16, QueryStart: 5), new[] { 6, 3 }).SetArgDisplayNames("decode, dim 16");
        yield return new TestCaseData(new AttentionShape(2, 9, 9, 2, 1, 8), new[] { 9, 4 }).SetArgDisplayNames("dim 8 (fallback), padding");
        foreach (var (shape, lengths, name) in WindowedShapes) yield return new TestCaseData(shape, lengths).SetArgDisplayNames(name);
    }

    private static readonly (AttentionShape Shape, int[] Lengths, string Name)[] WindowedShapes =
    [
        (new AttentionShape(2, 20, 20, 2, 1, 16, Window: 1), [20, 13], "dim 16, 20 rows, window 1, padding"),
        (new AttentionShape(1, 24, 24, 1, 1, 128, Window: 8), [22], "dim 128, 24 rows, window 8, padding"),
        (new AttentionShape(2, 1, 80, 4, 2, 16, QueryStart: 70, Window: 5), [71, 40], "decode at 70, dim 16, window 5"),
        (new AttentionShape(1, 16, 100, 2, 1, 16, QueryStart: 84, Window: 4), [100], "16 late queries, dim 16, window 4"),
        (new AttentionShape(2, 9, 9, 2, 1, 8, Window: 3), [9, 4], "dim 8 (fallback), window 3, padding"),
    ];

    /// <summary>
    /// A window as long as the sequence gives the same bits as none, forward and backward: the tensor-core kernels visit
    /// the same key blocks, and their masks keep the same scores (AttentionTests also tries a longer one on every backend).
    /// </summary>
    [Test]
    public void AWindowAsLongAsTheSequenceChangesNoBit()
    {
        const int rows = 20, window = rows;
        var shape = new AttentionShape(1, rows, rows, 2, 1, 16);
        int[] lengths = [rows - 3];
        var random = new Random(7);
        // q, k, v, the output gradient and the query gradient's start values.
        var inputs = Enumerable.Range(0, 5)
            .Select(n => Bf16Floats(random, n is 1 or 2 ? shape.KeyLength * shape.KvWidth : shape.QueryLength * shape.QueryWidth)).ToArray();
        float[][] Run(AttentionShape runShape)
        {
            var (q, k, v, outputGrad) = (UploadWords(inputs[0]), UploadWords(inputs[1]), UploadWords(inputs[2]), UploadWords(inputs[3]));
            var (output, lse, lengthsView) = (UploadWords(new float[inputs[0].Length]), Upload(new float[shape.Heads * rows]), Upload(lengths));
            var (qGrad, kGrad, vGrad) = (UploadWords(inputs[4]), UploadWords(new float[inputs[1].Length]), UploadWords(new float[inputs[1].Length]));
            _kernels!.Forward(output, lse, q, k, v, lengthsView, runShape);
            _kernels!.Backward(qGrad, kGrad, vGrad, outputGrad, q, k, v, output, lse, lengthsView, runShape);
            return [DownloadWords(output), Download(lse), DownloadWords(qGrad), DownloadWords(kGrad), DownloadWords(vGrad)];
        }
        Assert.That(Run(shape with { Window = window }), Is.EqualTo(Run(shape)));
    }

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchTheReference(AttentionShape shape, int[] lengths)
    {
        var random = new Random(shape.QueryLength * 131 + shape.HeadDim);
        var q = Bf16Floats(random, shape.Batch * shape.QueryLength * shape.QueryWidth);
        var k = Bf16Floats(random, shape.Batch * shape.KeyLength * shape.KvWidth);
        var v = Bf16Floats(random, k.Length);
        var outputGrad = Bf16Floats(random, q.Length);
        var (qGrad, kGrad, vGrad) = (Bf16Floats(random, q.Length), Bf16Floats(random, k.Length), Bf16Floats(random, v.Length));

        var (expectedOutput, expectedLse) = ReferenceForward(shape, lengths, q, k, v);
        var (outputMagnitude, _) = ReferenceForward(shape, lengths, q, k, v.Select(Math.Abs).ToArray());
        var output = UploadWords(Enumerable.Repeat(float.NaN, q.Length).ToArray());
        var lse = Upload(Enumerable.Repeat(float.NaN, expectedLse.Length).ToArray());
        var (qWords, kWords, vWords, lengthsView) = (UploadWords(q), UploadWords(k), UploadWords(v), Upload(lengths));
        _kernels!.Forward(output, lse, qWords, kWords, vWords, lengthsView, shape);
        // Output: its own rounding (2^-8 |o|) and that of every probability fed to P·V (2^-8 Σ_j P_ij |v_jd|).
        AssertWithin("output", DownloadWords(output), expectedOutput, (i, o) => Bf16 * (Math.Abs(o) + outputMagnitude[i]), shape);
        AssertWithin("logSumExp", Download(lse), expectedLse, (_, _) => 0, shape);

        // The backward reads the forward's results as stored: the bf16-rounded output and the float32 log-sum-exp.
        var storedOutput = expectedOutput.Select(o => (double)BFloat16.Round((float)o)).ToArray();
        var storedLse = expectedLse.Select(l => (double)(float)l).ToArray();
        var (expectedQGrad, expectedKGrad, expectedVGrad) = ReferenceBackward(shape, lengths, q, k, v, storedOutput, storedLse, outputGrad,
            qGrad, kGrad, vGrad);
        var (_, _, valueGradMagnitude) = ReferenceBackward(shape, lengths, q, k, v, storedOutput, storedLse, outputGrad.Select(Math.Abs).ToArray(),
            new float[q.Length], new float[k.Length], new float[v.Length]);
        var (queryGradMagnitude, keyGradMagnitude) = ScoreGradMagnitudes(shape, lengths, q, k, v, storedOutput, storedLse, outputGrad);
        var (qGradWords, kGradWords, vGradWords) = (UploadWords(qGrad), UploadWords(kGrad), UploadWords(vGrad));
        _kernels!.Backward(qGradWords, kGradWords, vGradWords, UploadWords(outputGrad), qWords, kWords, vWords,
            UploadWords(storedOutput.Select(o => (float)o).ToArray()), Upload(storedLse.Select(l => (float)l).ToArray()), lengthsView, shape);
        // Each gradient: its own rounding, and the rounding of the bf16 factor of its product (P for dV, dS for dK and dQ).
        AssertWithin("qGrad", DownloadWords(qGradWords), expectedQGrad, (i, g) => Bf16 * (Math.Abs(g) + queryGradMagnitude[i]), shape);
        AssertWithin("kGrad", DownloadWords(kGradWords), expectedKGrad, (i, g) => Bf16 * (Math.Abs(g) + keyGradMagnitude[i]), shape);
        AssertWithin("vGrad", DownloadWords(vGradWords), expectedVGrad, (i, g) => Bf16 * (Math.Abs(g) + valueGradMagnitude[i]), shape);
    }

    [Test]
    public void TheTensorCoresRunWhereTheWarpIs32AndTheHeadDimensionAMultipleOf16()
    {
        Assert.That(AttentionBf16.UsesTensorCores(Accelerator, 64), Is.EqualTo(Accelerator.WarpSize == 32));
        Assert.That(AttentionBf16.UsesTensorCores(Accelerator, 128), Is.EqualTo(Accelerator.WarpSize == 32));
        Assert.That(AttentionBf16.UsesTensorCores(Accelerator, 8), Is.False);
        Assert.That(AttentionBf16.UsesTensorCores(Accelerator, 256), Is.False);
    }

    /// <summary>
    /// Every bound above also carries the float32 arithmetic: scores, exponentials, sums and products in float32, whose
    /// rounding count <see cref="AttentionCase.Roundings"/> derives for the float32 kernels, relative to the
    /// tensor's largest value. The bf16 terms dominate by far (2^-8 against 2^-24 per rounding); a mask or head mapping
    /// off by one misses by a whole probability's share, several times these bounds.
    /// </summary>
    private static void AssertWithin(string name, float[] actual, double[] expected, Func<int, double, double> bf16Bound, AttentionShape shape)
    {
        var float32 = AttentionCase.Roundings(shape) * U * Math.Max(1, expected.Max(Math.Abs));
        for (var i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(bf16Bound(i, expected[i]) + float32), $"{name}[{i}]");
    }

    private static (double[] Output, double[] LogSumExp) ReferenceForward(AttentionShape shape, int[] lengths, float[] q, float[] k, float[] v)
    {
        var output = new double[q.Length];
        var lse = new double[shape.Batch * shape.Heads * shape.QueryLength];
        Attention.Reference.Forward<double>(output, lse, Doubles(q), Doubles(k), Doubles(v), lengths, shape);
        return (output, lse);
    }

    private static (double[], double[], double[]) ReferenceBackward(AttentionShape shape, int[] lengths, float[] q, float[] k, float[] v,
        double[] output, double[] lse, float[] outputGrad, float[] qGrad, float[] kGrad, float[] vGrad)
    {
        var (dq, dk, dv) = (Doubles(qGrad), Doubles(kGrad), Doubles(vGrad));
        Attention.Reference.Backward<double>(dq, dk, dv, Doubles(outputGrad), Doubles(q), Doubles(k), Doubles(v), output, lse, lengths, shape);
        return (dq, dk, dv);
    }

    /// <summary>
    /// scale·Σ_j |dS_ij|·|k_j| per query element and scale·Σ_i |dS_ij|·|q_i| per key element (over the group's heads):
    /// what rounding every dS_ij to bfloat16 can move dQ and dK by, in units of 2^-8. dS as the reference defines it.
    /// </summary>
    private static (double[] Query, double[] Key) ScoreGradMagnitudes(AttentionShape shape, int[] lengths, float[] q, float[] k, float[] v,
        double[] output, double[] lse, float[] outputGrad)
    {
        var (dim, scale, group) = (shape.HeadDim, 1 / Math.Sqrt(shape.HeadDim), shape.Heads / shape.KvHeads);
        var (query, key) = (new double[q.Length], new double[k.Length]);
        double Dot(IReadOnlyList<float> a, int aOffset, IReadOnlyList<float> b, int bOffset) =>
            Enumerable.Range(0, dim).Sum(d => (double)a[aOffset + d] * b[bOffset + d]);
        for (var b = 0; b < shape.Batch; b++)
            for (var h = 0; h < shape.Heads; h++)
                for (var i = 0; i < shape.QueryLength; i++)
                {
                    var row = (b * shape.QueryLength + i) * shape.QueryWidth + h * dim;
                    var rowDelta = Enumerable.Range(0, dim).Sum(d => outputGrad[row + d] * output[row + d]);
                    var first = shape.Window == 0 ? 0 : Math.Max(0, shape.QueryStart + i - shape.Window + 1);
                    for (var j = first; shape.QueryStart + i < lengths[b] && j <= shape.QueryStart + i; j++)
                    {
                        var keyRow = (b * shape.KeyLength + j) * shape.KvWidth + h / group * dim;
                        var p = Math.Exp(scale * Dot(q, row, k, keyRow) - lse[(b * shape.Heads + h) * shape.QueryLength + i]);
                        var scoreGrad = Math.Abs(p * (Dot(outputGrad, row, v, keyRow) - rowDelta)) * scale;
                        for (var d = 0; d < dim; d++)
                        {
                            query[row + d] += scoreGrad * Math.Abs(k[keyRow + d]);
                            key[keyRow + d] += scoreGrad * Math.Abs(q[row + d]);
                        }
                    }
                }
        return (query, key);
    }

    private static double[] Doubles(float[] values) => values.Select(x => (double)x).ToArray();

    /// <summary>Uniform in [−1, 1], rounded to bfloat16: exactly what the kernels will read.</summary>
    private static float[] Bf16Floats(Random random, int length) => RandomFloats(random, length).Select(BFloat16.Round).ToArray();

    private ArrayView<ushort> UploadWords(float[] values)
    {
        var buffer = Accelerator.Allocate1D(values.Select(BFloat16.FromFloat).ToArray());
        _words.Add(buffer);
        return buffer.View;
    }

    private static float[] DownloadWords(ArrayView<ushort> view)
    {
        var words = new ushort[view.Length];
        view.CopyToCPU(words);
        return words.Select(BFloat16.ToFloat).ToArray();
    }
}
