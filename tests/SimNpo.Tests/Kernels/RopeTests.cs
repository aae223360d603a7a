using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// RoPE over rows of heads at given positions: three rows of two heads of six at positions 0, 5 and 17 with float32-exact
/// inverse frequencies (the spec); four rows of three heads of ten (an odd half, 5) at positions up to 4000, where a
/// float32 angle would be off by 1e-4, with Llama's frequencies. Partial rotary (Phi): the first 4 of heads of 8 (the
/// spec), 8 of 16 (Phi-1.5's factor 0.5), 4 of 10 (Phi-2's 0.4, an odd pass-through of 6), with the frequencies formed
/// over the rotary dimension.
/// </summary>
public class RopeCase(string name, int heads, int headDim, int[] positions, double[] inverseFrequencies, CaseSize size, int? rotaryDim = null)
    : OpCase(name, positions.Length * heads * headDim)
{
    public static readonly RopeCase Small = new("rope", 2, 6, [0, 5, 17], [1, 0.125, 0.015625], CaseSize.Small);

    public static readonly RopeCase SmallPartial = new("rope 4 of 8", 2, 8, [0, 5, 17], [1, 0.125], CaseSize.Small, rotaryDim: 4);

    public static readonly OpCase[] Cases =
    [
        Small, new RopeCase("rope 4x3x10", 3, 10, [0, 1, 7, 4000], LlamaFrequencies(10), CaseSize.Shaped), SmallPartial,
        new RopeCase("rope 8 of 16", 3, 16, [0, 1, 7, 4000], LlamaFrequencies(8), CaseSize.Shaped, rotaryDim: 8),
        new RopeCase("rope 4 of 10", 3, 10, [2, 3, 1000], LlamaFrequencies(4), CaseSize.Shaped, rotaryDim: 4),
    ];

    public int Heads => heads;
    public int HeadDim => headDim;
    public int RotaryDim => rotaryDim ?? headDim;
    public int[] Positions => positions;
    public double[] InverseFrequencies => inverseFrequencies;

    public override CaseSize Size => size;

    public override int Float32Roundings => 4; // angles and sines in float64; two products and a sum, rounded once

    // The reduced angle rounded to float32 (at most π·2⁻²⁴ off), float32 sine and cosine (an ulp or two), two products
    // and a sum.
    public override int FastPathFloat32Roundings => 10;

    public override bool BackwardAdds => false;

    /// <summary>Llama's 10000^(−2i/d) over the rotated dimension d, rounded to float32 as the model stores them.</summary>
    public static double[] LlamaFrequencies(int rotaryDim) =>
        Enumerable.Range(0, rotaryDim / 2).Select(i => (double)(float)Math.Pow(10000, -2.0 * i / rotaryDim)).ToArray();

    public override View<T> Forward<T>(IOps<T> ops, View<T>[] inputs)
    {
        var x = ops.Allocate(inputs[0].Length, inputs[0].Storage).All;
        ops.Copy(x, inputs[0]);
        ops.Rope(x, ops.UploadInts(positions), ops.Upload(inverseFrequencies), heads, headDim, RotaryDim);
        return x;
    }

    public override void Backward<T>(IOps<T> ops, View<T>[] inputs, View<T> outputGrad, View<T>[] inputGrads)
    {
        ops.Copy(inputGrads[0], outputGrad);
        ops.RopeBackward(inputGrads[0], ops.UploadInts(positions), ops.Upload(inverseFrequencies), heads, headDim, RotaryDim);
    }
}

public class RopeTests
{
    [Test]
    public void ForwardMultipliesEachHalfPairByTheUnitComplexNumberOfItsAngle()
    {
        var op = RopeCase.Small;
        var x = OpData.Random(new Random(10), op.Positions.Length * op.Heads * op.HeadDim);
        var rotated = op.RunForward<double>([x]);
        var half = op.HeadDim / 2;
        for (var r = 0; r < op.Positions.Length; r++)
            for (var h = 0; h < op.Heads; h++)
                for (var i = 0; i < half; i++)
                {
                    var first = (r * op.Heads + h) * op.HeadDim + i;
                    var pair = new Complex(x[first], x[first + half]) * Complex.FromPolarCoordinates(1, op.Positions[r] * op.InverseFrequencies[i]);
                    // float64 on both sides: a few roundings of O(1) values.
                    Assert.That(rotated[first], Is.EqualTo(pair.Real).Within(1e-15));
                    Assert.That(rotated[first + half], Is.EqualTo(pair.Imaginary).Within(1e-15));
                }
        Assert.That(rotated[..(op.Heads * op.HeadDim)], Is.EqualTo(x[..(op.Heads * op.HeadDim)]), "position 0 is no rotation");
    }
}

public class PartialRopeTests
{
    public static IEnumerable<TestCaseData> Backends() =>
        from backend in OpBackend.All
        from storage in backend.Storages(RopeCase.Small)
        select new TestCaseData(backend, storage).SetArgDisplayNames(backend.ToString(), storage.ToString());

    /// <summary>
    /// Rotating the first 6 of heads of 10 (forward and backward) leaves the other 4 of each head bit for bit as they were,
    /// and gives the rotated 6 bit for bit what a full rotation of heads of 6 holding just those gives, on the same backend.
    /// </summary>
    [TestCaseSource(nameof(Backends))]
    public void PassThroughIsUntouchedAndTheRotatedPartIsAFullRopeOfItsWidth(OpBackend backend, Storage storage)
    {
        const int heads = 3, headDim = 10, rotaryDim = 6;
        int[] positions = [0, 3, 29, 2500];
        var frequencies = RopeCase.LlamaFrequencies(rotaryDim);
        var ops = backend.Ops;
        var x = OpData.Random(new Random(21), positions.Length * heads * headDim);
        var rotated = x.Chunk(headDim).SelectMany(head => head[..rotaryDim]).ToArray();
        foreach (var backward in new[] { false, true })
        {
            var (whole, part) = (ops.Upload(storage, x), ops.Upload(storage, rotated));
            Action<View<float>, int, int> rope = backward
                ? (v, dim, rotary) => ops.RopeBackward(v, ops.UploadInts(positions), ops.Upload(frequencies), heads, dim, rotary)
                : (v, dim, rotary) => ops.Rope(v, ops.UploadInts(positions), ops.Upload(frequencies), heads, dim, rotary);
            rope(whole, headDim, rotaryDim);
            rope(part, rotaryDim, rotaryDim);
            var (before, after) = (OpData.Download(ops.Upload(storage, x)).Chunk(headDim).ToArray(), OpData.Download(whole).Chunk(headDim).ToArray());
            Assert.That(after.SelectMany(head => head[rotaryDim..]), Is.EqualTo(before.SelectMany(head => head[rotaryDim..])), $"backward {backward}");
            Assert.That(after.SelectMany(head => head[..rotaryDim]), Is.EqualTo(OpData.Download(part)), $"backward {backward}");
            Assert.That(OpData.Download(part), Is.Not.EqualTo(OpData.Download(ops.Upload(storage, rotated))), "a rotation happened");
        }
    }

    [Test]
    public void AnOddOrTooWideRotaryDimIsRefused()
    {
        IOps<double> ops = new ReferenceOps<double>();
        var x = ops.Upload(new double[8]);
        foreach (var rotaryDim in new[] { 3, 10, 0 })
        {
            var frequencies = ops.Upload(new double[Math.Max(rotaryDim / 2, 1)]);
            var refusal = Assert.Throws<ArgumentException>(() => ops.Rope(x, ops.UploadInts(0), frequencies, 1, 8, rotaryDim));
            Assert.That(refusal!.Message, Does.Contain($"rotaryDim {rotaryDim}").And.Contain("headDim 8"));
        }
    }
}
