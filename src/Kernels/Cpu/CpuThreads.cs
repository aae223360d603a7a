namespace SimNpo.Kernels.Cpu;

/// <summary>
/// How many threads the fast CPU path's parallel loops use on the calling thread: all cores by default, fewer inside
/// <see cref="Limit"/> (a data-parallel benchmark runs each rank as one thread, one core each). The ranges of every loop
/// depend only on the sizes (<see cref="Partitions"/>), so the limit changes no bits.
/// </summary>
public static class CpuThreads
{
    [ThreadStatic] private static int _limit;

    private static readonly ParallelOptions Unlimited = new();

    internal static ParallelOptions Options => _limit > 0 ? new ParallelOptions { MaxDegreeOfParallelism = _limit } : Unlimited;

    /// <summary>Caps this thread's parallel loops at threads until the result is disposed.</summary>
    public static IDisposable Limit(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        var previous = _limit;
        _limit = threads;
        return new Restore(previous);
    }

    private sealed class Restore(int previous) : IDisposable
    {
        public void Dispose() => _limit = previous;
    }
}
