using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// Runs a raw-kernel test class on one of ILGPU's simulated devices (<see cref="SimulatedDevices"/>, which opens each once
/// for the whole run): the default CPU device (warps of 4, groups up to 16) or the NVIDIA-like one (warps of 32, groups up
/// to 1024), so an assumption about either size shows. Buffers live for one test.
/// </summary>
public abstract class CpuAcceleratorFixture(CPUDeviceKind kind)
{
    /// <summary>float32's unit roundoff: one rounding changes a value by at most this much relative to it.</summary>
    protected const double U = 1.0 / (1 << 24);

    private readonly List<MemoryBuffer> _buffers = [];

    protected Accelerator Accelerator { get; private set; } = null!;

    [OneTimeSetUp]
    public void TakeTheSimulatedDevice()
    {
        Accelerator = SimulatedDevices.Get(kind).Accelerator;
        Assert.That(Accelerator.WarpSize, Is.EqualTo(kind == CPUDeviceKind.Nvidia ? 32 : 4), "the simulated device asked for");
    }

    [TearDown]
    public void DisposeBuffers()
    {
        foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
    }

    /// <summary>
    /// A device copy of the values (floats, or bfloat16 words), <paramref name="offset"/> elements into its buffer: an offset
    /// that is not a multiple of 4 floats (8 words) takes a view off the 16-byte alignment that wide loads need.
    /// </summary>
    protected ArrayView<T> Upload<T>(T[] values, int offset = 0) where T : unmanaged
    {
        var buffer = Accelerator.Allocate1D<T>(offset + values.Length);
        _buffers.Add(buffer);
        var view = buffer.View.SubView(offset, values.Length);
        view.CopyFromCPU(values);
        return view;
    }

    protected ArrayView<int> Upload(int[] values)
    {
        var buffer = Accelerator.Allocate1D(values);
        _buffers.Add(buffer);
        return buffer.View;
    }

    protected static float[] Download(ArrayView<float> view) => view.GetAsArray();

    /// <summary>Uniform in [−scale, scale].</summary>
    protected static float[] RandomFloats(Random random, int length, double scale = 1) =>
        Enumerable.Range(0, length).Select(_ => (float)(scale * (2 * random.NextDouble() - 1))).ToArray();
}
