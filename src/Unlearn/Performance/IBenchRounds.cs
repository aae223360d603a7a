namespace SimNpo.Unlearn.Performance;

/// <summary>
/// One side of a benchmark, warmed up and ready: each <see cref="Round"/> measures every figure once (figure name →
/// value, e.g. "tokens/s"), and <see cref="Finish"/> ends it with its peak memory. Implemented in process
/// (<see cref="CalibratedRounds"/>) and by a child process speaking <see cref="WorkerProtocol"/> (SimNpo's own
/// worker or the PyTorch script), so the two sides of a comparison are driven alike.
/// </summary>
public interface IBenchRounds : IDisposable
{
    /// <summary>What the side reports about itself (for PyTorch: its version, BLAS, threads, device).</summary>
    IReadOnlyDictionary<string, string> Info { get; }

    IReadOnlyDictionary<string, double> Round();

    /// <summary>Peak memory by kind (peak_rss_bytes, device_allocated_bytes, cuda_max_allocated_bytes, ...).</summary>
    IReadOnlyDictionary<string, long> Finish();
}
