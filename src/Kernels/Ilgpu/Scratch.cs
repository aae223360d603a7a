using ILGPU;
using ILGPU.Runtime;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// Device memory an op keeps for itself between calls (its private intermediate results), grown to the largest request
/// seen, so a training step allocates nothing once the first step has run. Its bytes count in <paramref name="allocated"/>
/// where the op's owner reports its memory (<see cref="IlgpuOps.Allocated"/>).
/// </summary>
internal sealed class Scratch<T>(Accelerator accelerator, AllocatedBytes? allocated = null) : IDisposable where T : unmanaged
{
    private IlgpuBuffer<T>? _buffer;

    /// <summary>The first <paramref name="length"/> elements, their contents undefined.</summary>
    public ArrayView<T> View(long length)
    {
        if (_buffer is null || _buffer.Length < length)
        {
            // A kernel queued earlier may still read the old buffer.
            accelerator.Synchronize();
            _buffer?.Dispose();
            _buffer = new IlgpuBuffer<T>(accelerator, checked((int)Math.Max(1, length)), allocated ?? new AllocatedBytes());
        }
        return _buffer.View.SubView(0, length);
    }

    public void Dispose() => _buffer?.Dispose();
}
