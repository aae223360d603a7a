using System.Runtime.CompilerServices;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// One thread's scratch floats for the op running on it: a pinned array grown on demand and kept, so once the largest
/// shape has been seen no op allocates again. An op reserves the total it needs, then takes 64-byte aligned regions
/// (whole cache lines; the micro-kernel's aligned loads). A new reservation gives up the regions taken before.
/// </summary>
internal sealed unsafe class ThreadScratch
{
    private const int AlignmentFloats = 16;

    [ThreadStatic] private static ThreadScratch? _current;

    private float[] _storage = [];
    private float* _next;
    private float* _end;

    /// <summary>Room for <paramref name="regions"/> regions of <paramref name="floats"/> floats in all, on this thread.</summary>
    public static ThreadScratch Reserve(long floats, int regions)
    {
        var scratch = _current ??= new ThreadScratch();
        var needed = checked((int)(floats + (long)(regions + 1) * AlignmentFloats));
        if (scratch._storage.Length < needed) scratch._storage = GC.AllocateArray<float>(needed, pinned: true);
        var start = (nint)Unsafe.AsPointer(ref scratch._storage[0]);
        scratch._next = (float*)((start + 63) & ~(nint)63);
        scratch._end = (float*)start + scratch._storage.Length;
        return scratch;
    }

    /// <summary>The next region of the reservation, aligned, its contents left from earlier use.</summary>
    public float* Take(long floats)
    {
        var region = _next;
        _next = region + (floats + AlignmentFloats - 1) / AlignmentFloats * AlignmentFloats;
        if (_next > _end) throw new InvalidOperationException("scratch taken beyond its reservation");
        return region;
    }
}
