using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;

namespace SimNpo.Tests.Kernels.Cpu;

/// <summary>
/// The fast CPU path's row and elementwise ops against the CPU reference beyond the op cases (<see cref="OpAgreementTests"/>
/// runs every case here too, within the bounds of the device kernels' float32 arithmetic, the fast ops taking their row sums
/// in float64 lanes and so staying well inside them; the <see cref="CaseSize.Ranged"/> cases split into several fixed
/// ranges). Where the fast op does the float32 reference's very operations in the same order, it must match it bit for bit.
/// </summary>
public class FastCpuOpsTests
{
    private readonly IOps<float> _fast = new FastCpuOps();
    private readonly IOps<float> _reference = new ReferenceOps<float>();

    /// <summary>
    /// One instance's RoPE table follows its calls: grown for later positions, rebuilt for other frequencies (another
    /// model's), and rebuilt back. Each rotation against the float64 reference within <see cref="RopeCase"/>'s 10 fast-path
    /// roundings: cosines and sines rounded once to float32 from float64 angles, two products and a sum.
    /// </summary>
    [Test]
    public void TheRopeTableFollowsPositionsAndFrequencies()
    {
        const int heads = 2, headDim = 12;
        double[] Frequencies(double theta) => Enumerable.Range(0, headDim / 2).Select(i => (double)(float)Math.Pow(theta, -2.0 * i / headDim)).ToArray();
        var (llama, other) = (Frequencies(10000), Frequencies(500000));
        var random = new Random(10);
        foreach (var (frequencies, positions) in new[] { (llama, new[] { 0, 1, 9 }), (llama, [50, 3000]), (other, [3, 3000]), (llama, [7, 2999]) })
        {
            var x = OpData.Random(random, positions.Length * heads * headDim);
            var expected = x.ToArray();
            Rope.Reference.Forward<double>(expected, positions, frequencies, heads, headDim, headDim);
            var view = _fast.Upload(x);
            _fast.Rope(view, _fast.UploadInts(positions), _fast.Upload(frequencies), heads, headDim, headDim);
            Assert.That(OpData.Download(view), Is.EqualTo(expected).Within(10 * Math.ScaleB(1.0, -24)), $"positions {string.Join(", ", positions)}");
        }
    }

    /// <summary>
    /// The row gather copies rows, and the row scatter-add adds an index's rows in row order as the reference does (here
    /// over three column blocks of 64, index 5 repeated): bit for bit the float32 reference.
    /// </summary>
    [Test]
    public void TheRowGatherAndScatterAddEqualTheFloat32ReferenceExactly()
    {
        const int dim = 150, vocab = 9;
        int[] tokens = [5, 0, 5, 8, 5, 2, 7];
        var random = new Random(3);
        var (table, outputGrad, tableGrad) = (OpData.Random(random, vocab * dim), OpData.Random(random, tokens.Length * dim),
            OpData.Random(random, vocab * dim));
        double[][] Run(IOps<float> ops)
        {
            var rows = ops.Allocate(tokens.Length * dim).All;
            ops.GatherRows(rows, ops.UploadInts(tokens), ops.Upload(table), dim);
            var grads = ops.Upload(tableGrad);
            ops.ScatterAddRows(grads, ops.UploadInts(tokens), ops.Upload(outputGrad), dim);
            return [OpData.Download(rows), OpData.Download(grads)];
        }
        var (fast, reference) = (Run(_fast), Run(_reference));
        string[] names = ["gather rows", "scatter-add rows"];
        for (var n = 0; n < fast.Length; n++) Assert.That(fast[n], Is.EqualTo(reference[n]), names[n]);
    }

    /// <summary>
    /// On bfloat16 rows the row gather copies words and the row scatter-add rounds after each row in row order (index 5
    /// three times, three column blocks).
    /// </summary>
    [Test]
    public void BFloat16RowGatherCopiesAndScatterAddRoundsPerRow()
    {
        const int dim = 150, vocab = 9;
        int[] tokens = [5, 0, 5, 8, 5, 2, 7];
        var random = new Random(4);
        float[] Bf16(int n) => OpData.Random(random, n, 3).Select(x => BFloat16.Round((float)x)).ToArray();
        var (table, outputGrad, tableGrad) = (Bf16(vocab * dim), Bf16(tokens.Length * dim), Bf16(vocab * dim));
        View<float> Stored(float[] values)
        {
            var view = _fast.Allocate(values.Length, Storage.BFloat16).All;
            view.CopyFrom(values);
            return view;
        }

        var rows = _fast.Allocate(tokens.Length * dim, Storage.BFloat16).All;
        _fast.GatherRows(rows, _fast.UploadInts(tokens), Stored(table), dim);
        Assert.That(rows.ToArray(), Is.EqualTo(tokens.SelectMany(t => table.Skip(t * dim).Take(dim))), "gather rows");
        var grads = Stored(tableGrad);
        _fast.ScatterAddRows(grads, _fast.UploadInts(tokens), Stored(outputGrad), dim);
        var expected = tableGrad.ToArray();
        for (var r = 0; r < tokens.Length; r++)
            for (var j = 0; j < dim; j++)
                expected[tokens[r] * dim + j] = BFloat16.Round(expected[tokens[r] * dim + j] + outputGrad[r * dim + j]);
        Assert.That(grads.ToArray(), Is.EqualTo(expected), "scatter-add rows");
    }

    /// <summary>One call's bulk tensors share one storage and its statistics are float32: anything else is refused by name.</summary>
    [Test]
    public void MixedStoragesAreRefusedNamingTheOp()
    {
        var (native, bf16) = (_fast.Allocate(8).All, _fast.Allocate(8, Storage.BFloat16).All);
        Assert.That(() => _fast.Add(bf16, native, bf16), Throws.ArgumentException.With.Message.Contains("Add").And.Message.Contains("mix"));
        Assert.That(() => _fast.MatMul(native, bf16, native, 2, 4, 4), Throws.ArgumentException.With.Message.Contains("MatMul"));
        Assert.That(() => _fast.RmsNorm(bf16, _fast.Allocate(2, Storage.BFloat16).All, bf16, bf16.Slice(0, 4), 4, 1e-5f, 0),
            Throws.ArgumentException.With.Message.Contains("RmsNorm").And.Message.Contains("statistics"));
        Assert.DoesNotThrow(() => _fast.GatherRows(native.Slice(0, 2), _fast.UploadInts(1, 0), native.Slice(2, 2), 1),
            "a width-1 gather of native per-sequence values in a bf16 run");
    }

    /// <summary>
    /// The ops that reduce across rows or ranges (the RMSNorm weight gradient's partials, the norm's partials) give the
    /// same bits on a second call: every sum has a fixed order whatever the schedule.
    /// </summary>
    [Test]
    public void ReductionsRepeatBitForBit()
    {
        const int rows = 1000, dim = 70;
        var random = new Random(9);
        var (input, weight, outputGrad) = (OpData.Random(random, rows * dim), OpData.Random(random, dim), OpData.Random(random, rows * dim));
        (double[] WeightGrad, double Norm) Run()
        {
            var invRms = _fast.Allocate(rows).All;
            var (x, w) = (_fast.Upload(input), _fast.Upload(weight));
            _fast.RmsNorm(_fast.Allocate(rows * dim).All, invRms, x, w, dim, 1e-5f, 0);
            var (inputGrad, weightGrad) = (_fast.Allocate(rows * dim).All, _fast.Allocate(dim).All);
            _fast.RmsNormBackward(inputGrad, weightGrad, _fast.Upload(outputGrad), x, w, invRms, dim, 0);
            return (OpData.Download(weightGrad), _fast.SumOfSquares(inputGrad));
        }
        var (first, second) = (Run(), Run());
        Assert.That(second.WeightGrad, Is.EqualTo(first.WeightGrad));
        Assert.That(second.Norm, Is.EqualTo(first.Norm));
    }
}
