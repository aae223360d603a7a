namespace SimNpo.Kernels;

/// <summary>
/// Storage owned by a backend: host memory for the CPU paths, device memory for ILGPU.
/// The model allocates a few of these (parameters, gradients, activations) and carves them into <see cref="View{T}"/>s.
/// </summary>
public abstract class DeviceBuffer<T> : IDisposable where T : unmanaged
{
    public abstract int Length { get; }

    /// <summary>How the elements are stored; <see cref="Storage.BFloat16"/> buffers round uploads and widen downloads.</summary>
    public virtual Storage Storage => Storage.Native;

    public abstract void Upload(ReadOnlySpan<T> source, int offset);

    public abstract void Download(int offset, Span<T> destination);

    public View<T> All => new(this, 0, Length);

    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>A buffer in managed host memory; CPU ops read and write its array directly.</summary>
public sealed class HostBuffer<T>(int length) : DeviceBuffer<T> where T : unmanaged
{
    public T[] Array { get; } = new T[length];

    public override int Length => Array.Length;

    public override void Upload(ReadOnlySpan<T> source, int offset) => source.CopyTo(Array.AsSpan(offset));

    public override void Download(int offset, Span<T> destination) =>
        Array.AsSpan(offset, destination.Length).CopyTo(destination);
}

/// <summary>
/// A float buffer stored as bfloat16 in managed host memory: uploads round to nearest even, downloads widen exactly, and
/// the fast CPU ops read and write <see cref="Bits"/> directly (through <see cref="Bf16Views.Bits"/>).
/// </summary>
public sealed class HostBFloat16Buffer(int length) : DeviceBuffer<float>
{
    public ushort[] Bits { get; } = new ushort[length];

    public override int Length => Bits.Length;

    public override Storage Storage => Storage.BFloat16;

    public override void Upload(ReadOnlySpan<float> source, int offset) => BFloat16.Narrow(source, Bits.AsSpan(offset, source.Length));

    public override void Download(int offset, Span<float> destination) => BFloat16.Widen(Bits.AsSpan(offset, destination.Length), destination);
}

/// <summary>The raw bfloat16 words behind a float view of a <see cref="HostBFloat16Buffer"/>.</summary>
public static class Bf16Views
{
    public static Memory<ushort> Bits(this View<float> view) => view.Buffer is HostBFloat16Buffer host
        ? host.Bits.AsMemory(view.Offset, view.Length)
        : throw new InvalidOperationException($"a view of a {view.Buffer.GetType().Name} holds no host bfloat16 words");
}

/// <summary>A contiguous range of a <see cref="DeviceBuffer{T}"/>: the unit every op reads and writes.</summary>
public readonly record struct View<T>(DeviceBuffer<T> Buffer, int Offset, int Length) where T : unmanaged
{
    public View<T> Slice(int offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"slice [{offset}, {offset + length}) outside a view of {Length}");
        return new View<T>(Buffer, Offset + offset, length);
    }

    /// <summary>The elements as memory; only host buffers have it (the CPU backends run on them).</summary>
    public Memory<T> Memory => Buffer is HostBuffer<T> host
        ? host.Array.AsMemory(Offset, Length)
        : throw new InvalidOperationException(Buffer.Storage == Storage.Native
            ? "this view lives on a device; copy it to the host first"
            : $"this view stores {Buffer.Storage}: read its words (Bf16Views.Bits) or copy it to the host");

    public Span<T> Span => Memory.Span;

    public Storage Storage => Buffer.Storage;

    public T[] ToArray()
    {
        var result = new T[Length];
        Buffer.Download(Offset, result);
        return result;
    }

    public void CopyFrom(ReadOnlySpan<T> source)
    {
        if (source.Length != Length) throw new ArgumentException($"expected {Length} elements, got {source.Length}");
        Buffer.Upload(source, Offset);
    }
}

/// <summary>Hands out consecutive views of one buffer, the llm.c way: sizes first, one allocation, then views.</summary>
public sealed class ViewCarver<T>(DeviceBuffer<T> buffer) where T : unmanaged
{
    private int _next;

    public View<T> Take(int length)
    {
        var view = new View<T>(buffer, _next, length);
        _next += length;
        if (_next > buffer.Length) throw new InvalidOperationException($"carved {_next} elements from a buffer of {buffer.Length}");
        return view;
    }
}
