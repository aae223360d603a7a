using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>Device buffers and the views carved from them (the ops that move or combine elements: ElementwiseOpsTests).</summary>
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

    [Test]
    public void ViewsOfHostBuffersHaveNoDeviceMemory() =>
        Assert.Throws<InvalidOperationException>(() => new HostBuffer<float>(3).All.ArrayView());
}
