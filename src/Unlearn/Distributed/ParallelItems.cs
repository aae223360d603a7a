using System.Text;
using SimNpo.Unlearn.Progress;

namespace SimNpo.Unlearn.Distributed;

/// <summary>How one item's result travels between ranks: written to and read from bytes, exactly (doubles bit for bit).</summary>
public sealed record ItemCodec<T>(Action<BinaryWriter, T> Write, Func<BinaryReader, T> Read);

/// <summary>The codecs evaluation needs: generated text, numbers, and arrays of any item (the per-sequence results of one batch).</summary>
public static class ItemCodecs
{
    public static readonly ItemCodec<string> Text = new((writer, text) => writer.Write(text), reader => reader.ReadString());

    public static readonly ItemCodec<double> Double = new((writer, value) => writer.Write(value), reader => reader.ReadDouble());

    /// <summary>The length, then each element.</summary>
    public static ItemCodec<T[]> ArrayOf<T>(ItemCodec<T> element) => new((writer, values) =>
    {
        writer.Write(values.Length);
        foreach (var value in values) element.Write(writer, value);
    }, reader =>
    {
        var values = new T[reader.ReadInt32()];
        for (var i = 0; i < values.Length; i++) values[i] = element.Read(reader);
        return values;
    });

    public static readonly ItemCodec<double[]> Doubles = ArrayOf(Double);

    public static readonly ItemCodec<double[][]> DoubleArrays = ArrayOf(Doubles);
}

/// <summary>
/// Evaluation items split across the ranks of a group: item i is computed by rank i mod N (strided, so that items sorted by
/// length share the work evenly), and every rank receives every result in item order. Each item's result is computed as
/// one process computes it (the same batch of the same examples), so the gathered list, and any aggregate taken over it in
/// order, are the same bits for any N.
/// </summary>
public static class ParallelItems
{
    /// <summary>
    /// compute(i) for every i in [0, count), split across the group (null: this process alone), shown as a progress phase
    /// when labelled (each rank counts its own items; only rank 0 draws). Collective.
    /// </summary>
    public static T[] Map<T>(ICommunicator? group, int count, Func<int, T> compute, ItemCodec<T> codec, (string Label, string Unit)? progress = null)
    {
        if (progress is var (label, unit))
        {
            using var phase = ProgressReporting.Start(label, group is null ? count : (count - group.Rank + group.Size - 1) / group.Size, unit);
            return Map(group, count, i => { var result = compute(i); phase.Advance(); return result; }, codec);
        }
        if (group is null || group.Size == 1) return Enumerable.Range(0, count).Select(compute).ToArray();
        var (rank, size) = (group.Rank, group.Size);
        using var mine = new MemoryStream();
        using (var writer = new BinaryWriter(mine, Encoding.UTF8, leaveOpen: true))
            for (var i = rank; i < count; i += size) codec.Write(writer, compute(i));
        var counts = ByteCounts(group, (int)mine.Length);
        var all = new byte[counts.Sum(c => (long)c)];
        group.AllGather(mine.GetBuffer().AsSpan(0, (int)mine.Length), all, counts);

        var readers = new BinaryReader[size];
        var offset = 0;
        for (var r = 0; r < size; r++)
        {
            readers[r] = new BinaryReader(new MemoryStream(all, offset, counts[r], writable: false), Encoding.UTF8);
            offset += counts[r];
        }
        var results = new T[count];
        for (var i = 0; i < count; i++) results[i] = codec.Read(readers[i % size]);
        foreach (var reader in readers) reader.Dispose();
        return results;
    }

    /// <summary>
    /// Per-example results of batches given as lists of example indices, each batch the one a single process forms: the
    /// batches are the items split across the group, and each batch's results (one per index, in its order) are put back
    /// at their examples' indices. Collective.
    /// </summary>
    public static T[] MapBatches<T>(ICommunicator? group, int exampleCount, IReadOnlyList<int[]> batches, Func<int[], T[]> compute, ItemCodec<T> codec,
        (string Label, string Unit)? progress = null)
    {
        var perBatch = Map(group, batches.Count, b => compute(batches[b]), ItemCodecs.ArrayOf(codec), progress);
        var results = new T[exampleCount];
        for (var b = 0; b < batches.Count; b++)
        {
            if (perBatch[b].Length != batches[b].Length)
                throw new InvalidOperationException($"batch {b} has {batches[b].Length} examples but {perBatch[b].Length} results");
            for (var j = 0; j < batches[b].Length; j++) results[batches[b][j]] = perBatch[b][j];
        }
        return results;
    }

    /// <summary>Every rank's byte count, gathered so that each knows how much the others send.</summary>
    private static int[] ByteCounts(ICommunicator group, int mine)
    {
        var all = new int[group.Size];
        group.AllGather(BitConverter.GetBytes(mine), System.Runtime.InteropServices.MemoryMarshal.AsBytes(all.AsSpan()),
            Enumerable.Repeat(sizeof(int), group.Size).ToArray());
        return all;
    }
}
