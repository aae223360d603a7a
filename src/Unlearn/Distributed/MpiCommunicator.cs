namespace SimNpo.Unlearn.Distributed;

/// <summary>
/// MPI_COMM_WORLD of the job mpirun (or mpiexec) started. AllReduceSum is not MPI_Allreduce, whose summation order
/// depends on the MPI, the number of ranks and the message size: each rank owns a slice of the values, receives every
/// rank's copy of its slice (MPI_Alltoallv), adds them in rank order (<see cref="RankOrderSum"/>), and the slices are
/// gathered back (MPI_Allgatherv). That is as much traffic as a ring all-reduce (2·(N−1)/N of the values per rank) and
/// one extra copy of the values in memory, and every rank gets the same bits in the fixed order the interface promises.
/// Errors are returned, not fatal, so a failed call says which; <see cref="Abort"/> ends every rank.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    private readonly MpiLibrary _mpi;
    private bool _finalized;

    internal MpiCommunicator(MpiLibrary mpi)
    {
        _mpi = mpi;
        int initialized;
        mpi.Check(mpi.Initialized(&initialized), "MPI_Initialized");
        if (initialized == 0)
        {
            int provided;
            mpi.Check(mpi.InitThread(null, null, MpiLibrary.ThreadSerialized, &provided), "MPI_Init_thread");
        }
        mpi.Check(mpi.CommSetErrhandler(mpi.World, mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
        int rank, size;
        mpi.Check(mpi.CommRank(mpi.World, &rank), "MPI_Comm_rank");
        mpi.Check(mpi.CommSize(mpi.World, &size), "MPI_Comm_size");
        (Rank, Size) = (rank, size);
    }

    public int Rank { get; }
    public int Size { get; }
    public string Library => _mpi.Name;

    public void AllReduceSum(Span<float> values) => Reduce(values, _mpi.Float);
    public void AllReduceSum(Span<double> values) => Reduce(values, _mpi.Double);

    private void Reduce<T>(Span<T> values, nint type) where T : unmanaged, System.Numerics.IAdditionOperators<T, T, T>
    {
        if (Size == 1 || values.Length == 0) return;
        var (counts, starts) = Slices(values.Length);
        var mine = counts[Rank];
        var received = new T[mine * Size];
        var receiveCounts = Enumerable.Repeat(mine, Size).ToArray();
        var receiveStarts = Enumerable.Range(0, Size).Select(r => r * mine).ToArray();
        fixed (T* send = values)
        fixed (T* receive = received)
        fixed (int* sendCounts = counts, sendStarts = starts, recvCounts = receiveCounts, recvStarts = receiveStarts)
            _mpi.Check(_mpi.Alltoallv(send, sendCounts, sendStarts, type, receive, recvCounts, recvStarts, type, _mpi.World), "MPI_Alltoallv");
        var slice = new T[mine];
        RankOrderSum.Sum<T>(received, slice);
        fixed (T* send = slice)
        fixed (T* receive = values)
        fixed (int* allCounts = counts, allStarts = starts)
            _mpi.Check(_mpi.Allgatherv(send, mine, type, receive, allCounts, allStarts, type, _mpi.World), "MPI_Allgatherv");
    }

    /// <summary>Rank r's slice of n values: n / Size of them, one more for the first n % Size ranks.</summary>
    private (int[] Counts, int[] Starts) Slices(int n)
    {
        var counts = Enumerable.Range(0, Size).Select(r => n / Size + (r < n % Size ? 1 : 0)).ToArray();
        var starts = new int[Size];
        for (var r = 1; r < Size; r++) starts[r] = starts[r - 1] + counts[r - 1];
        return (counts, starts);
    }

    public void AllGather(ReadOnlySpan<byte> mine, Span<byte> all, ReadOnlySpan<int> byteCounts)
    {
        if (byteCounts.Length != Size || byteCounts[Rank] != mine.Length)
            throw new ArgumentException($"AllGather: byteCounts must list {Size} ranks and give rank {Rank} {mine.Length} bytes.");
        var counts = byteCounts.ToArray();
        var starts = new int[Size];
        for (var r = 1; r < Size; r++) starts[r] = checked(starts[r - 1] + counts[r - 1]);
        if (all.Length < starts[^1] + counts[^1]) throw new ArgumentException($"AllGather: {all.Length} bytes cannot hold {starts[^1] + counts[^1]}.");
        fixed (byte* send = mine)
        fixed (byte* receive = all)
        fixed (int* countsPointer = counts, startsPointer = starts)
            _mpi.Check(_mpi.Allgatherv(send, mine.Length, _mpi.Byte, receive, countsPointer, startsPointer, _mpi.Byte, _mpi.World), "MPI_Allgatherv");
    }

    public void Broadcast(Span<byte> data, int root)
    {
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), $"Broadcast root {root} in a group of {Size}.");
        fixed (byte* buffer = data)
            _mpi.Check(_mpi.Bcast(buffer, data.Length, _mpi.Byte, root, _mpi.World), "MPI_Bcast");
    }

    public void Barrier() => _mpi.Check(_mpi.Barrier(_mpi.World), "MPI_Barrier");

    /// <summary>Ends every rank of the job with this exit code (mpirun reports it): what a rank that cannot go on must do,
    /// since the others would otherwise wait for it in their next collective.</summary>
    public void Abort(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        _mpi.Abort(_mpi.World, code);
        Environment.Exit(code); // MPI_Abort does not return; this is for an MPI that does
    }

    public void Dispose()
    {
        if (_finalized) return;
        _finalized = true;
        _mpi.Finalize();
    }
}
