using ILGPU;
using ILGPU.Runtime;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// Device memory an op keeps for itself between calls (its private intermediate results), grown to the largest request
/// seen, so a training step allocates nothing once the first step has run.
/// </summary>
internal sealed class Scratch<T>(Accelerator accelerator) : IDisposable where T : unmanaged
{
    private MemoryBuffer1D<T, Stride1D.Dense>? _buffer;

    /// <summary>The first <paramref name="length"/> elements, their contents undefined.</summary>
    public ArrayView<T> View(long length)
    {
        if (_buffer is null || _buffer.Length < length)
        {
            // A kernel queued earlier may still read the old buffer.
            accelerator.Synchronize();
            _buffer?.Dispose();
            _buffer = accelerator.Allocate1D<T>(Math.Max(1, length));
        }
        return _buffer.View.SubView(0, length);
    }

    public void Dispose() => _buffer?.Dispose();
}
