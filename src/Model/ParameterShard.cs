namespace SimNpo.Model;

/// <summary>
/// One piece of a shard inside one chunk of a <see cref="ParameterLayout"/>: elements [ChunkOffset, ChunkOffset + Length)
/// of chunk Chunk, which are elements [Start, Start + Length) of the model's order and [ShardOffset, ShardOffset + Length)
/// of the shard.
/// </summary>
public readonly record struct ShardSegment(int Chunk, int ChunkOffset, int Length, long Start, long ShardOffset);

/// <summary>
/// The parameters one rank of a ZeRO stage 1 group owns: the contiguous range [Start, End) of the layout's element order
/// (chunk after chunk, tensor after tensor, as <see cref="ParameterEntry.Start"/> counts), cut in N balanced pieces with
/// rank r owning [⌊r·P/N⌋, ⌊(r+1)·P/N⌋) of the P parameters, so sizes differ by at most one element. A cut may fall
/// inside a tensor: AdamW is element-wise, so where a tensor is split changes no bit of the update. The range is
/// addressed as the <see cref="Segments"/> it covers in each chunk (at most one per chunk), each under 2³¹ elements.
/// </summary>
public sealed class ParameterShard
{
    public ParameterShard(ParameterLayout layout, int rank, int ranks)
    {
        if (ranks < 1 || rank < 0 || rank >= ranks) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} of {ranks}");
        Layout = layout;
        Rank = rank;
        Ranks = ranks;
        (Start, End) = Bounds(layout.TotalLength, rank, ranks);
        var segments = new List<ShardSegment>();
        var chunkStart = 0L;
        for (var chunk = 0; chunk < layout.ChunkLengths.Count; chunk++)
        {
            var chunkEnd = chunkStart + layout.ChunkLengths[chunk];
            long from = Math.Max(chunkStart, Start), to = Math.Min(chunkEnd, End);
            if (from < to) segments.Add(new ShardSegment(chunk, (int)(from - chunkStart), (int)(to - from), from, from - Start));
            chunkStart = chunkEnd;
        }
        Segments = segments;
    }

    public ParameterLayout Layout { get; }
    public int Rank { get; }
    public int Ranks { get; }
    public long Start { get; }
    public long End { get; }
    public long Length => End - Start;
    public IReadOnlyList<ShardSegment> Segments { get; }

    /// <summary>Rank r's range of P elements cut in N: [⌊r·P/N⌋, ⌊(r+1)·P/N⌋), computed without overflow for any model.</summary>
    public static (long Start, long End) Bounds(long total, int rank, int ranks) => (Cut(total, rank, ranks), Cut(total, rank + 1, ranks));

    /// <summary>The most elements any rank owns: ⌈P/N⌉, what a per-rank memory plan sizes.</summary>
    public static long LargestLength(long total, int ranks) => (total + ranks - 1) / ranks;

    private static long Cut(long total, int index, int ranks) => (long)((Int128)total * index / ranks);

    /// <summary>
    /// The part of [start, start + length) of the model's order that this shard owns, as an offset into that range and a
    /// length (zero when they do not meet).
    /// </summary>
    public (int Offset, int Length) Overlap(long start, int length)
    {
        long from = Math.Max(start, Start), to = Math.Min(start + length, End);
        return from < to ? ((int)(from - start), (int)(to - from)) : (0, 0);
    }
}
