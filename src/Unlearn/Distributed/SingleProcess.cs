namespace SimNpo.Unlearn.Distributed;

/// <summary>The group of one: every collective leaves the data as it is (a sum over one rank is that rank's values).</summary>
public sealed class SingleProcess : ICommunicator
{
    public static readonly SingleProcess Instance = new();

    public int Rank => 0;
    public int Size => 1;

    public void AllReduceSum(Span<float> values) { }
    public void AllReduceSum(Span<double> values) { }

    public void AllGather(ReadOnlySpan<byte> mine, Span<byte> all, ReadOnlySpan<int> byteCounts)
    {
        if (byteCounts.Length != 1 || byteCounts[0] != mine.Length || all.Length < mine.Length)
            throw new ArgumentException($"AllGather on one rank: byteCounts must be [{mine.Length}] and all must hold it.");
        mine.CopyTo(all);
    }

    public void Broadcast(Span<byte> data, int root)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), $"Broadcast root {root} in a group of one.");
    }

    public void Barrier() { }
    public void Dispose() { }
}
