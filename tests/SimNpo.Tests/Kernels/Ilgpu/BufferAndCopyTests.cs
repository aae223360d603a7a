using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>Device buffers, the views carved from them, and the ops that only move or combine elements: exact.</summary>
public class BufferAndCopyTests
{
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void UploadAndDownloadTouchOnlyTheirRange(string device)
    {
        using var buffer = SimulatedDevices.Get(device).Allocate(6);
        buffer.All.CopyFrom([1, 2, 3, 4, 5, 6]);
        buffer.All.Slice(2, 3).CopyFrom([30, 40, 50]);
        Assert.That(buffer.All.ToArray(), Is.EqualTo(new float[] { 1, 2, 30, 40, 50, 6 }));
        Assert.That(buffer.All.Slice(1, 2).ToArray(), Is.EqualTo(new float[] { 2, 30 }));
    }

    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void ZeroAndCopyActOnSubViews(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        using var buffer = ops.Allocate(8);
        buffer.All.CopyFrom([1, 2, 3, 4, 5, 6, 7, 8]);
        ops.Zero(buffer.All.Slice(1, 2));
        ops.Copy(buffer.All.Slice(5, 3), buffer.All.Slice(0, 3));
        Assert.That(buffer.All.ToArray(), Is.EqualTo(new float[] { 1, 0, 0, 4, 5, 1, 0, 0 }));
    }

    /// <summary>One float32 addition or product per element, rounded the same way on both sides: equal to the bit.</summary>
    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void AddAndScaleEqualTheFloat32Reference(string device)
    {
        var random = new Random(4);
        var (a, b) = (OpData.Random(random, 37), OpData.Random(random, 37));
        float[] Run(IOps<float> ops)
        {
            var output = ops.Allocate(37).All;
            ops.Add(output, ops.Upload(a), ops.Upload(b));
            ops.Scale(output, 0.3f);
            return output.ToArray();
        }
        Assert.That(Run(SimulatedDevices.Get(device)), Is.EqualTo(Run(new ReferenceOps<float>())));
    }

    [Test]
    public void ViewsOfHostBuffersHaveNoDeviceMemory() =>
        Assert.Throws<InvalidOperationException>(() => new HostBuffer<float>(3).All.ArrayView());
}
