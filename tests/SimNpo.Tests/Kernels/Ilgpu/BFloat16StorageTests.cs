using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The ops that take views of any storage, on bfloat16 views: zeroing, converting copies, the elementwise Add and Scale,
/// and the sum of squares; and the refusal of one call whose bulk views mix storages.
/// </summary>
public class BFloat16StorageTests
{
    private static View<float> BFloat16s(IOps<float> ops, double[] values) => ops.Upload(Storage.BFloat16, values);

    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void ZeroClearsOnlyItsSubView(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var x = BFloat16s(ops, [1, 2, 3, 4, 5]);
        ops.Zero(x.Slice(1, 3));
        Assert.That(x.ToArray(), Is.EqualTo(new float[] { 1, 0, 0, 0, 5 }));
    }

    /// <summary>
    /// float32 to bfloat16 rounds to nearest even, as the host's <see cref="BFloat16.Round"/> (itself checked against PyTorch's
    /// rounding in BFloat16Tests); the way back and a copy within one storage are exact. Odd offsets: no pair alignment assumed.
    /// </summary>
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void CopyConvertsBetweenStorages(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var values = OpData.Random(new Random(1), 37, scale: 100);
        values[3] = 1 + 1.0 / 256; // a tie between two bfloat16 neighbours: to the even one, 1
        values[4] = 1 + 3.0 / 256; // a tie rounding up to the even neighbour 1 + 2⁻⁶
        var native = ops.Upload(values);
        var narrow = ops.Allocate(39, Storage.BFloat16).All.Slice(1, 37);
        ops.Copy(narrow, native);
        var rounded = values.Select(x => BFloat16.Round((float)x)).ToArray();
        Assert.That(narrow.ToArray(), Is.EqualTo(rounded));
        Assert.That(rounded[3..5], Is.EqualTo(new[] { 1f, 1 + 1f / 64 }));

        var wide = ops.Allocate(37).All;
        ops.Copy(wide, narrow);
        Assert.That(wide.ToArray(), Is.EqualTo(rounded));
        var again = ops.Allocate(38, Storage.BFloat16).All.Slice(1, 37);
        ops.Copy(again, narrow);
        Assert.That(again.ToArray(), Is.EqualTo(rounded));
    }

    /// <summary>
    /// Each result is one float32 operation on bfloat16 numbers, rounded to bfloat16: a sum or product of two such numbers
    /// is exact in float64, so (float) of the float64 result is the float32 operation, and its <see cref="BFloat16.Round"/>
    /// what the op must store, to the bit.
    /// </summary>
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void AddAndScaleRoundTheFloat32ResultOnce(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var random = new Random(4);
        var (a, b) = (OpData.RoundToBFloat16(OpData.Random(random, 37)), OpData.RoundToBFloat16(OpData.Random(random, 37)));
        var output = ops.Allocate(37, Storage.BFloat16).All;
        ops.Add(output, BFloat16s(ops, a), BFloat16s(ops, b));
        var sums = a.Zip(b, (x, y) => BFloat16.Round((float)(x + y))).ToArray();
        Assert.That(output.ToArray(), Is.EqualTo(sums));
        const float factor = 0.3f;
        ops.Scale(output, factor);
        Assert.That(output.ToArray(), Is.EqualTo(sums.Select(x => BFloat16.Round((float)(x * (double)factor))).ToArray()));
    }

    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void BulkViewsOfTwoStoragesInOneCallAreRefused(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var (gate, up, output) = (BFloat16s(ops, [1, 2]), ops.Upload(3, 4), ops.Allocate(2, Storage.BFloat16).All);
        var refusal = Assert.Throws<ArgumentException>(() => ops.SwiGlu(output, gate, up));
        Assert.That(refusal!.Message, Does.Contain("SwiGlu").And.Contain("BFloat16").And.Contain("Native"));
        Assert.Throws<ArgumentException>(() => ops.ScatterAddRows(ops.Allocate(4).All, ops.UploadInts(0), BFloat16s(ops, [1, 2]), 2));
    }
}
