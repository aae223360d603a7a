using SimNpo.Kernels;

namespace SimNpo.Model;

/// <summary>
/// One value per parameter (weights, gradients, master weights or an AdamW moment) in the chunks of a
/// <see cref="ParameterLayout"/>: one backend buffer per chunk, all of one storage. Each tensor is a view of one buffer.
/// </summary>
public sealed class ParameterSet<T> : IDisposable where T : unmanaged
{
    /// <summary>Elements moved per host transfer when a set is read or written whole: 4 M (16 MiB of float32).</summary>
    private const int Piece = 1 << 22;

    private readonly DeviceBuffer<T>[] _chunks;

    /// <param name="allocate">Makes a buffer of the given length (already zeroed, as every backend's buffers are).</param>
    public ParameterSet(ParameterLayout layout, Func<int, DeviceBuffer<T>> allocate)
    {
        Layout = layout;
        _chunks = AllocateAll(layout.ChunkLengths, allocate);
    }

    /// <summary>One buffer per length; when one allocation fails, the ones made before it are freed and the failure stands.</summary>
    public static DeviceBuffer<T>[] AllocateAll(IReadOnlyList<int> lengths, Func<int, DeviceBuffer<T>> allocate)
    {
        var buffers = new DeviceBuffer<T>[lengths.Count];
        try
        {
            for (var i = 0; i < buffers.Length; i++) buffers[i] = allocate(lengths[i]);
            return buffers;
        }
        catch
        {
            foreach (var buffer in buffers) buffer?.Dispose();
            throw;
        }
    }

    public ParameterLayout Layout { get; }

    /// <summary>The buffers, one per chunk: ops over every parameter (clipping, AdamW) run once per chunk.</summary>
    public IReadOnlyList<DeviceBuffer<T>> Chunks => _chunks;

    public Storage Storage => _chunks[0].Storage;

    public View<T> this[ParameterEntry entry] => _chunks[entry.Chunk].All.Slice(entry.ChunkOffset, entry.Length);

    /// <summary>Every value in layout order as one host array: for models small enough to hold twice (tests, tools).</summary>
    public T[] ToArray()
    {
        if (Layout.TotalLength > Array.MaxLength)
            throw new NotSupportedException($"{Layout.TotalLength} parameters do not fit one array; read them per tensor");
        var values = new T[Layout.TotalLength];
        var start = 0;
        foreach (var chunk in _chunks)
        {
            chunk.Download(0, values.AsSpan(start, chunk.Length));
            start += chunk.Length;
        }
        return values;
    }

    /// <summary>Sets every value from one array in layout order (the inverse of <see cref="ToArray"/>).</summary>
    public void CopyFrom(ReadOnlySpan<T> values)
    {
        if (values.Length != Layout.TotalLength) throw new ArgumentException($"expected {Layout.TotalLength} values, got {values.Length}");
        var start = 0;
        foreach (var chunk in _chunks)
        {
            chunk.Upload(values.Slice(start, chunk.Length), 0);
            start += chunk.Length;
        }
    }

    /// <summary>
    /// Copies another set of the same layout, converting storage (rounding to nearest even into bfloat16, widening out of
    /// it) through the host in pieces, so no whole copy of the model is ever made; works on every backend.
    /// </summary>
    public void CopyFrom(ParameterSet<T> source)
    {
        if (source.Layout.TotalLength != Layout.TotalLength || source._chunks.Length != _chunks.Length)
            throw new ArgumentException("the parameter sets have different layouts");
        var piece = new T[(int)Math.Min(Piece, Layout.ChunkLengths.Max())];
        for (var c = 0; c < _chunks.Length; c++)
        {
            for (var start = 0; start < _chunks[c].Length; start += piece.Length)
            {
                var span = piece.AsSpan(0, Math.Min(piece.Length, _chunks[c].Length - start));
                source._chunks[c].Download(start, span);
                _chunks[c].Upload(span, start);
            }
        }
    }

    public void Dispose()
    {
        foreach (var chunk in _chunks) chunk?.Dispose();
    }
}
