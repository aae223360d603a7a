using SimNpo.Kernels;
using SimNpo.Model;

namespace SimNpo.Unlearn.Distributed;

/// <summary>
/// One value per parameter of a rank's <see cref="ParameterShard"/> (its AdamW moments, its master weights): one backend
/// buffer per segment of the shard, so a slice of a 7B model is a few buffers each under 2³¹ elements, addressed by the
/// offset in the shard.
/// </summary>
public sealed class ShardBuffers<T> : IDisposable where T : unmanaged
{
    /// <summary>Elements moved per host transfer: 1 M.</summary>
    private const int Piece = 1 << 20;

    private readonly DeviceBuffer<T>[] _segments;

    /// <param name="allocate">Makes a zeroed buffer of the given length (every backend zeroes new buffers).</param>
    public ShardBuffers(ParameterShard shard, Func<int, DeviceBuffer<T>> allocate)
    {
        Shard = shard;
        _segments = ParameterSet<T>.AllocateAll(shard.Segments.Select(segment => segment.Length).ToArray(), allocate);
    }

    public ParameterShard Shard { get; }

    /// <summary>The storage of the buffers; a shard with no segment (more ranks than parameters) reports native.</summary>
    public Storage Storage => _segments.Length > 0 ? _segments[0].Storage : Storage.Native;

    /// <summary>The buffer of segment i, whole.</summary>
    public View<T> Segment(int i) => _segments[i].All;

    /// <summary>Elements [shardOffset, shardOffset + length) as one view: they must lie in one segment (a tensor never spans chunks).</summary>
    public View<T> View(long shardOffset, int length)
    {
        var (segment, offset) = Locate(shardOffset);
        return _segments[segment].All.Slice(offset, length);
    }

    /// <summary>Copies the shard's part of a whole parameter set in (the master weights' slice, at the start of a run).</summary>
    public void CopyFrom(ParameterSet<T> set)
    {
        for (var i = 0; i < _segments.Length; i++)
        {
            var segment = Shard.Segments[i];
            Copy(set.Chunks[segment.Chunk].All.Slice(segment.ChunkOffset, segment.Length), _segments[i].All);
        }
    }

    /// <summary>Copies the shard's values into its part of a whole parameter set, converting storage (bfloat16 weights take the master's rounding).</summary>
    public void CopyTo(ParameterSet<T> set)
    {
        for (var i = 0; i < _segments.Length; i++)
        {
            var segment = Shard.Segments[i];
            Copy(_segments[i].All, set.Chunks[segment.Chunk].All.Slice(segment.ChunkOffset, segment.Length));
        }
    }

    /// <summary>Reads elements from shardOffset on into destination, across segments.</summary>
    public void Read(long shardOffset, Span<T> destination)
    {
        while (!destination.IsEmpty)
        {
            var (segment, offset) = Locate(shardOffset);
            var count = Math.Min(destination.Length, _segments[segment].Length - offset);
            _segments[segment].Download(offset, destination[..count]);
            destination = destination[count..];
            shardOffset += count;
        }
    }

    private (int Segment, int Offset) Locate(long shardOffset)
    {
        for (var i = 0; i < _segments.Length; i++)
        {
            var segment = Shard.Segments[i];
            if (shardOffset >= segment.ShardOffset && shardOffset < segment.ShardOffset + segment.Length) return (i, (int)(shardOffset - segment.ShardOffset));
        }
        throw new ArgumentOutOfRangeException(nameof(shardOffset), $"offset {shardOffset} is outside a shard of {Shard.Length} elements");
    }

    /// <summary>A view into another of the same length, through the host a piece at a time (converting storage on the way).</summary>
    private static void Copy(View<T> from, View<T> to)
    {
        var piece = new T[Math.Min(Piece, from.Length)];
        for (var start = 0; start < from.Length; start += piece.Length)
        {
            var span = piece.AsSpan(0, Math.Min(piece.Length, from.Length - start));
            from.Buffer.Download(from.Offset + start, span);
            to.Buffer.Upload(span, to.Offset + start);
        }
    }

    public void Dispose()
    {
        foreach (var segment in _segments) segment.Dispose();
    }
}
