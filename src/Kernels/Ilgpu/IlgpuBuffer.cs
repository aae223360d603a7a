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
            : throw new InvalidOperationException($"a view of a {view.Buffer.GetType().Name} is not {typeof(T).Name}s in accelerator memory");

    /// <summary>The bfloat16 words of a view of an <see cref="IlgpuBFloat16Buffer"/>.</summary>
    public static ArrayView<ushort> Words(this View<float> view) =>
        view.Buffer is IlgpuBFloat16Buffer buffer
            ? buffer.Words.SubView(view.Offset, view.Length)
            : throw new InvalidOperationException($"a view of a {view.Buffer.GetType().Name} is not bfloat16 words in accelerator memory");
}

/// <summary>
/// A float buffer stored as bfloat16 words in accelerator memory: host copies round or widen on the host, kernels take
/// <see cref="Words"/> and convert with <see cref="BFloat16"/>'s functions.
/// </summary>
public sealed class IlgpuBFloat16Buffer(Accelerator accelerator, int length, AllocatedBytes allocated) : DeviceBuffer<float>
{
    private readonly IlgpuBuffer<ushort> _words = new(accelerator, length, allocated);

    public override int Length => _words.Length;

    public override Storage Storage => Storage.BFloat16;

    /// <summary>The whole buffer's words as a kernel argument.</summary>
    public ArrayView<ushort> Words => _words.View;

    public override void Upload(ReadOnlySpan<float> source, int offset)
    {
        var words = new ushort[source.Length];
        BFloat16.Narrow(source, words);
        _words.Upload(words, offset);
    }

    public override void Download(int offset, Span<float> destination)
    {
        var words = new ushort[destination.Length];
        _words.Download(offset, words);
        BFloat16.Widen(words, destination);
    }

    public override void Dispose()
    {
        _words.Dispose();
        base.Dispose();
    }
}
