using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// The ops that only move or combine elements (Zero, Copy, Add, Scale) on the fast CPU path and both simulated devices, in
/// float32 and bfloat16: exact. The fast path's length spans three of its fixed ranges and a partial vector; the devices'
/// a partial warp and group.
/// </summary>
public class ElementwiseOpsTests
{
    private static IEnumerable<TestCaseData> Backends() =>
        from backend in new[] { OpBackend.FastCpu, OpBackend.SimulatedDefault, OpBackend.SimulatedNvidia }
        select new TestCaseData(backend, backend.IsSimulator ? 37 : 40_003).SetArgDisplayNames(backend.ToString());

    /// <summary>One float32 addition or product per element, rounded the same way on both sides: equal to the bit.</summary>
    [TestCaseSource(nameof(Backends))]
    public void Float32AddAndScaleEqualTheReference(OpBackend backend, int length)
    {
        var random = new Random(4);
        var (a, b) = (OpData.Random(random, length), OpData.Random(random, length));
        float[] Run(IOps<float> ops)
        {
            var output = ops.Allocate(length).All;
            ops.Add(output, ops.Upload(a), ops.Upload(b));
            ops.Scale(output, 0.3f);
            return output.ToArray();
        }
        Assert.That(Run(backend.Ops), Is.EqualTo(Run(OpBackend.Reference.Ops)));
    }

    [TestCaseSource(nameof(Backends))]
    public void ZeroAndCopyActOnSubViews(OpBackend backend, int length)
    {
        foreach (var storage in new[] { Storage.Native, Storage.BFloat16 })
        {
            var ops = backend.Ops;
            var values = Enumerable.Range(1, length).Select(i => (double)(i % 200)).ToArray();
            var x = ops.Upload(storage, values);
            ops.Zero(x.Slice(1, length / 2));
            ops.Copy(x.Slice(length - 3, 3), x.Slice(0, 3));
            var expected = values.Select((v, i) => i >= 1 && i <= length / 2 ? 0f : (float)v).ToArray();
            (expected[^3], expected[^2], expected[^1]) = (expected[0], 0, 0);
            Assert.That(x.ToArray(), Is.EqualTo(expected), storage.ToString());
        }
    }

    /// <summary>
    /// float32 to bfloat16 rounds to nearest even, as the host's <see cref="BFloat16.Round"/> (itself checked against PyTorch's
    /// rounding in BFloat16Tests); the way back and a copy within one storage are exact. Odd offsets: no pair alignment assumed.
    /// </summary>
    [TestCaseSource(nameof(Backends))]
    public void CopyConvertsBetweenStorages(OpBackend backend, int length)
    {
        var ops = backend.Ops;
        var values = OpData.Random(new Random(1), length, scale: 100);
        values[3] = 1 + 1.0 / 256; // a tie between two bfloat16 neighbours: to the even one, 1
        values[4] = 1 + 3.0 / 256; // a tie rounding up to the even neighbour 1 + 2⁻⁶
        var narrow = ops.Allocate(length + 2, Storage.BFloat16).All.Slice(1, length);
        ops.Copy(narrow, ops.Upload(values));
        var rounded = values.Select(x => BFloat16.Round((float)x)).ToArray();
        Assert.That(narrow.ToArray(), Is.EqualTo(rounded));
        Assert.That(rounded[3..5], Is.EqualTo(new[] { 1f, 1 + 1f / 64 }));

        var wide = ops.Allocate(length).All;
        ops.Copy(wide, narrow);
        Assert.That(wide.ToArray(), Is.EqualTo(rounded));
        var again = ops.Allocate(length + 1, Storage.BFloat16).All.Slice(1, length);
        ops.Copy(again, narrow);
        Assert.That(again.ToArray(), Is.EqualTo(rounded));
    }

    /// <summary>
    /// Each result is one float32 operation on bfloat16 numbers, rounded to bfloat16: a sum or product of two such numbers
    /// is exact in float64, so (float) of the float64 result is the float32 operation, and its <see cref="BFloat16.Round"/>
    /// what the op must store, to the bit.
    /// </summary>
    [TestCaseSource(nameof(Backends))]
    public void BFloat16AddAndScaleRoundTheFloat32ResultOnce(OpBackend backend, int length)
    {
        var ops = backend.Ops;
        var random = new Random(4);
        var (a, b) = (OpData.RoundToBFloat16(OpData.Random(random, length)), OpData.RoundToBFloat16(OpData.Random(random, length)));
        var output = ops.Allocate(length, Storage.BFloat16).All;
        ops.Add(output, ops.Upload(Storage.BFloat16, a), ops.Upload(Storage.BFloat16, b));
        var sums = a.Zip(b, (x, y) => BFloat16.Round((float)(x + y))).ToArray();
        Assert.That(output.ToArray(), Is.EqualTo(sums));
        const float factor = 0.3f;
        ops.Scale(output, factor);
        Assert.That(output.ToArray(), Is.EqualTo(sums.Select(x => BFloat16.Round((float)(x * (double)factor))).ToArray()));
    }
}
