using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// IlgpuOps sends bfloat16 views to <see cref="SimNpo.Kernels.Ilgpu.AttentionBf16"/> (the kernels' own accuracy is
/// <see cref="AttentionBf16KernelTests"/>'), and refuses a call whose bulk views mix storages.
/// </summary>
public class AttentionBf16OpsTests
{
    private static readonly AttentionShape Shape = new(1, 5, 5, 2, 1, 16);

    [Test]
    public void Bf16ViewsRunTheBf16Attention()
    {
        IOps<float> ops = SimulatedDevices.Get(SimulatedDevices.Nvidia);
        var random = new Random(7);
        var (q, k, v) = (Rounded(random, 5 * 32), Rounded(random, 5 * 16), Rounded(random, 5 * 16));
        var output = new double[q.Length];
        var lse = new double[10];
        Attention.Reference.Forward<double>(output, lse, q, k, v, new[] { 4 }, Shape);

        var outputView = Bf16(ops, new double[q.Length]);
        var lseView = ops.Allocate(lse.Length).All;
        ops.Attention(outputView, lseView, Bf16(ops, q), Bf16(ops, k), Bf16(ops, v), ops.UploadInts(4), Shape);
        // Each output is a probability-weighted mean of values in [−1, 1]: its rounding and that of the probabilities
        // fed to P·V (2^-8 each of at most max|v| = 1), and float32's 2^-24 terms well below 2^-10.
        Assert.That(OpData.Download(outputView), Is.EqualTo(output).Within(2 * BFloat16.UnitRoundoff + 1.0 / 1024));
        Assert.That(OpData.Download(lseView), Is.EqualTo(lse).Within(1e-5));
    }

    [Test]
    public void MixedStoragesAreRefusedNamingTheOp()
    {
        IOps<float> ops = SimulatedDevices.Get(SimulatedDevices.Nvidia);
        var bf16 = Bf16(ops, new double[5 * 32]);
        var kv = Bf16(ops, new double[5 * 16]);
        var exception = Assert.Throws<ArgumentException>(() =>
            ops.Attention(ops.Allocate(5 * 32).All, ops.Allocate(10).All, bf16, kv, kv, ops.UploadInts(5), Shape));
        Assert.That(exception!.Message, Does.Contain("Attention"));
    }

    private static View<float> Bf16(IOps<float> ops, double[] values)
    {
        var view = ops.Allocate(values.Length, Storage.BFloat16).All;
        view.CopyFrom(values.Select(x => (float)x).ToArray());
        return view;
    }

    private static double[] Rounded(Random random, int length) =>
        OpData.Random(random, length).Select(x => (double)BFloat16.Round((float)x)).ToArray();
}
