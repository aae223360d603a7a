namespace SimNpo.Unlearn.Distributed;

/// A group of processes (ranks) that reduce, gather and broadcast together. Every call is collective: all ranks make it
/// in the same order. Results are the same bits on every rank.
public interface ICommunicator : IDisposable
{
    int Rank { get; }
    int Size { get; }
    bool IsRoot => Rank == 0;
    /// Element-wise sum over ranks, in place, in a fixed order (rank 0 + rank 1 + ...), identical bits on every rank.
    void AllReduceSum(Span<float> values);
    void AllReduceSum(Span<double> values);
    /// Rank r contributes `mine` (byteCounts[r] bytes); `all` receives every rank's bytes in rank order.
    void AllGather(ReadOnlySpan<byte> mine, Span<byte> all, ReadOnlySpan<int> byteCounts);
    void Broadcast(Span<byte> data, int root);
    void Barrier();
}
