using System.Runtime.InteropServices;
using SimNpo.Model;

namespace SimNpo.Unlearn.Distributed;

/// <summary>
/// The all-gathers of ZeRO stage 1 over a parameter range cut as <see cref="ParameterShard"/> cuts it: the ranks' slices
/// are contiguous and in rank order, so every rank's contribution to a window of the model's order is its overlap with
/// the window, and the concatenation in rank order is the window itself. Windows of 4 M elements bound the host memory
/// of a collective (32 MiB of float64) whatever the model's size.
/// </summary>
public static class ShardTransfers
{
    private const int Window = 1 << 22;

    /// <summary>
    /// Fills destination with elements [start, start + destination.Length) of a set of which each rank holds its shard's
    /// part: readOwn(position, span) reads this rank's elements from position (in the model's order). Collective.
    /// </summary>
    public static void AllGatherRange<T>(ICommunicator group, long total, long start, Span<T> destination, Action<long, Span<T>> readOwn)
        where T : unmanaged
    {
        var counts = new int[group.Size];
        var mine = new T[Math.Min(Window, destination.Length)];
        for (var done = 0; done < destination.Length; done += Window)
        {
            var window = destination.Slice(done, Math.Min(Window, destination.Length - done));
            var windowStart = start + done;
            for (var rank = 0; rank < group.Size; rank++)
            {
                var (from, to) = ParameterShard.Bounds(total, rank, group.Size);
                counts[rank] = (int)Math.Max(0, Math.Min(to, windowStart + window.Length) - Math.Max(from, windowStart)) * Marshal.SizeOf<T>();
            }
            var (ownStart, _) = ParameterShard.Bounds(total, group.Rank, group.Size);
            var own = mine.AsSpan(0, counts[group.Rank] / Marshal.SizeOf<T>());
            if (!own.IsEmpty) readOwn(Math.Max(ownStart, windowStart), own);
            group.AllGather(MemoryMarshal.AsBytes(own), MemoryMarshal.AsBytes(window), counts);
        }
    }

    /// <summary>Every rank's slice of a whole parameter set to every rank (the updated weights after a sharded step). Collective.</summary>
    public static void AllGatherSlices<T>(ICommunicator group, ParameterSet<T> set) where T : unmanaged
    {
        var total = set.Layout.TotalLength;
        var window = new T[(int)Math.Min(Window, total)];
        for (var start = 0L; start < total; start += window.Length)
        {
            var span = window.AsSpan(0, (int)Math.Min(window.Length, total - start));
            AllGatherRange(group, total, start, span, (position, own) => ReadRange(set, position, own));
            WriteRange(set, start, span);
        }
    }

    /// <summary>Elements from start (in the model's order) of a parameter set into destination, across chunks.</summary>
    public static void ReadRange<T>(ParameterSet<T> set, long start, Span<T> destination) where T : unmanaged
    {
        foreach (var (chunk, offset, done, count) in Pieces(set, start, destination.Length))
            set.Chunks[chunk].Download(offset, destination.Slice(done, count));
    }

    /// <summary>Elements from start (in the model's order) of a parameter set from source, across chunks.</summary>
    public static void WriteRange<T>(ParameterSet<T> set, long start, ReadOnlySpan<T> source) where T : unmanaged
    {
        foreach (var (chunk, offset, done, count) in Pieces(set, start, source.Length))
            set.Chunks[chunk].Upload(source.Slice(done, count), offset);
    }

    /// <summary>The chunks the range [start, start + length) meets: each as its chunk, the offset in it, the offset in the range, the count.</summary>
    private static IEnumerable<(int Chunk, int Offset, int Done, int Count)> Pieces<T>(ParameterSet<T> set, long start, int length) where T : unmanaged
    {
        var chunkStart = 0L;
        var done = 0;
        for (var chunk = 0; chunk < set.Chunks.Count && done < length; chunk++)
        {
            var chunkLength = set.Chunks[chunk].Length;
            var position = start + done;
            if (position < chunkStart + chunkLength)
            {
                var count = (int)Math.Min(length - done, chunkStart + chunkLength - position);
                yield return (chunk, (int)(position - chunkStart), done, count);
                done += count;
            }
            chunkStart += chunkLength;
        }
        if (done < length) throw new ArgumentOutOfRangeException(nameof(start), $"[{start}, {start + length}) passes the set's {set.Layout.TotalLength} elements");
    }
}
