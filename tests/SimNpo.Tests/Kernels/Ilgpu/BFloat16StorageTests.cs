using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// One call whose bulk views mix storages is refused (the elementwise ops on bfloat16 views: ElementwiseOpsTests; the sum of
/// squares: SumOfSquaresTests).
/// </summary>
public class BFloat16StorageTests
{
    private static View<float> BFloat16s(IOps<float> ops, double[] values) => ops.Upload(Storage.BFloat16, values);

    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void BulkViewsOfTwoStoragesInOneCallAreRefused(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var (gate, up, output) = (BFloat16s(ops, [1, 2]), ops.Upload(3, 4), ops.Allocate(2, Storage.BFloat16).All);
        var refusal = Assert.Throws<ArgumentException>(() => ops.GatedActivation(output, gate, up, Activation.Silu));
        Assert.That(refusal!.Message, Does.Contain("GatedActivation").And.Contain("BFloat16").And.Contain("Native"));
        Assert.Throws<ArgumentException>(() => ops.ScatterAddRows(ops.Allocate(4).All, ops.UploadInts(0), BFloat16s(ops, [1, 2]), 2));
    }
}
