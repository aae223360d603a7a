using ILGPU;
using ILGPU.Algorithms.ScanReduceOperations;
using ILGPU.Runtime;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// Reductions across a group in explicitly grouped kernels (warp shuffles, then one shared slot per warp), and the
/// group sizes that go with them. Written against Warp.WarpSize and the accelerator's limits, never a fixed 32.
/// </summary>
internal static class GroupReduce
{
    /// <summary>Shared slots for per-warp results; <see cref="GroupSize"/> never launches more warps (1024 threads at warp 32).</summary>
    private const int MaxWarps = 32;

    /// <summary>Enough threads to hide memory latency, few enough that several groups share a multiprocessor.</summary>
    private const int PreferredGroupSize = 256;

    /// <summary>
    /// Whole warps, no more than <paramref name="work"/> items need (a short row wastes no threads), up to the
    /// preferred size and the accelerator's limit.
    /// </summary>
    public static int GroupSize(Accelerator accelerator, long work)
    {
        var warp = accelerator.WarpSize;
        var limit = Math.Min(Math.Min(accelerator.MaxNumThreadsPerGroup, MaxWarps * warp), Math.Max(PreferredGroupSize, warp));
        var needed = Math.Max(1, (work + warp - 1) / warp) * warp;
        return (int)Math.Min(needed, limit / warp * warp);
    }

    /// <summary>
    /// Combines one value from every thread of the group; every thread gets the result, summed in the same order by
    /// all of them. Contains barriers: call it from every thread of the group.
    /// </summary>
    public static T AllReduce<T, TReduction>(T value)
        where T : unmanaged
        where TReduction : struct, IScanReduceOperation<T>
    {
        var warpResults = SharedMemory.Allocate<T>(MaxWarps);
        var reduction = default(TReduction);
        // A butterfly leaves the warp's total in every lane.
        for (var offset = Warp.WarpSize / 2; offset > 0; offset /= 2)
            value = reduction.Apply(value, Warp.ShuffleXor(value, offset));
        if (Warp.IsFirstLane) warpResults[Warp.WarpIdx] = value;
        Group.Barrier();
        var total = reduction.Identity;
        for (var w = 0; w < Group.DimX / Warp.WarpSize; w++) total = reduction.Apply(total, warpResults[w]);
        // The slots are free again only once every thread has read them.
        Group.Barrier();
        return total;
    }

    public static float Sum(float value) => AllReduce<float, AddFloat>(value);
}
