using ILGPU;
using ILGPU.Runtime;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// A buffer in an accelerator's memory, zeroed like a new host array; host copies go through sub-views, so a view's
/// upload touches only its range. Its bytes count in <paramref name="allocated"/> until it is disposed.
/// </summary>
public sealed class IlgpuBuffer<T> : DeviceBuffer<T> where T : unmanaged
{
    private readonly MemoryBuffer1D<T, Stride1D.Dense> _memory;
    private readonly AllocatedBytes _allocated;
    private bool _disposed;

    public IlgpuBuffer(Accelerator accelerator, int length, AllocatedBytes allocated)
    {
        _memory = accelerator.Allocate1D<T>(length);
        _memory.MemSetToZero();
        Length = length;
        _allocated = allocated;
        allocated.Add(_memory.LengthInBytes);
    }

    public override int Length { get; }

    /// <summary>The whole buffer as a kernel argument.</summary>
    public ArrayView<T> View => _memory.View;

    public override void Upload(ReadOnlySpan<T> source, int offset) => View.SubView(offset, source.Length).CopyFromCPU(source);

    public override void Download(int offset, Span<T> destination) => View.SubView(offset, destination.Length).CopyToCPU(destination);

    public override void Dispose()
    {
        if (!_disposed) _allocated.Remove(_memory.LengthInBytes);
        _disposed = true;
        _memory.Dispose();
        base.Dispose();
    }
}

/// <summary>From SimNpo's views to the kernels' argument type.</summary>
public static class IlgpuViews
{
    /// <summary>The range of device memory a view names; only views of <see cref="IlgpuBuffer{T}"/>s have one.</summary>
    public static ArrayView<T> ArrayView<T>(this View<T> view) where T : unmanaged =>
        view.Buffer is IlgpuBuffer<T> buffer
            ? buffer.View.SubView(view.Offset, view.Length)
            : throw new InvalidOperationException($"a view of a {view.Buffer.GetType().Name} is not in accelerator memory");
}
