namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// Bytes held by an accelerator's live <see cref="IlgpuBuffer{T}"/>s and the most they ever held: the device memory a
/// benchmark reports beside torch.cuda.max_memory_allocated.
/// </summary>
public sealed class AllocatedBytes
{
    private long _current;
    private long _peak;

    public long Peak => Interlocked.Read(ref _peak);

    public void Add(long bytes)
    {
        var now = Interlocked.Add(ref _current, bytes);
        long peak;
        while (now > (peak = Peak) && Interlocked.CompareExchange(ref _peak, now, peak) != peak) { }
    }

    public void Remove(long bytes) => Interlocked.Add(ref _current, -bytes);
}
