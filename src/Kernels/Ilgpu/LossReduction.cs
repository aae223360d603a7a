using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>A partial result that threads of a group combine: itself merged with another, and fetched from another lane.</summary>
internal interface IGroupMergeable<T> where T : unmanaged
{
    T Merge(T other);

    /// <summary>The same value of lane (this lane xor <paramref name="laneMask"/>), field by field, so no backend has to shuffle a struct.</summary>
    T ShuffleXor(int laneMask);
}

/// <summary>
/// The running state of a softmax over part of a row, the online softmax of llm.c's fused classifier: the largest logit seen
/// and the sum of exponentials relative to it, rescaled whenever the maximum grows. Accumulated in float32 per thread.
/// </summary>
internal struct OnlineSoftmax(float max, float sumExp) : IGroupMergeable<OnlineSoftmax>
{
    public float Max = max;
    public float SumExp = sumExp;

    public static OnlineSoftmax Empty => new(float.NegativeInfinity, 0);

    public readonly float LogSumExp => Max + XMath.Log(SumExp);

    /// <summary>x − LogSumExp, taken as (x − Max) − log(SumExp): rounded relative to the row's spread, not its offset.</summary>
    public readonly float LogSoftmax(float x) => x - Max - XMath.Log(SumExp);

    /// <summary>One more logit: one exponential either way, and every exponent at or below 0.</summary>
    public void Add(float x)
    {
        if (x > Max)
        {
            SumExp = SumExp * XMath.Exp(Max - x) + 1;
            Max = x;
        }
        else SumExp += XMath.Exp(x - Max);
    }

    public readonly OnlineSoftmax Merge(OnlineSoftmax other)
    {
        var max = XMath.Max(Max, other.Max);
        return new(max, Rescaled(SumExp, Max, max) + Rescaled(other.SumExp, other.Max, max));
    }

    public readonly OnlineSoftmax ShuffleXor(int laneMask) => new(Warp.ShuffleXor(Max, laneMask), Warp.ShuffleXor(SumExp, laneMask));

    /// <summary>A part that saw nothing (maximum −∞) adds 0; the test for equality keeps −∞ − (−∞) = NaN out.</summary>
    private static float Rescaled(float sum, float from, float to) => from == to ? sum : sum * XMath.Exp(from - to);
}

/// <summary>Group-wide reductions for the loss heads' row kernels (one group per row), and the group size that goes with them.</summary>
internal static class LossReduction
{
    /// <summary>Shared slots for per-warp results; <see cref="RowGroupSize"/> never launches more warps.</summary>
    private const int MaxWarps = 32;

    /// <summary>llm.c's fused classifier runs 1024 threads per row: a row of a large vocabulary is long.</summary>
    private const int PreferredGroupSize = 1024;

    /// <summary>Whole warps, no more than a row of <paramref name="width"/> needs, within the accelerator's limit.</summary>
    public static int RowGroupSize(Accelerator accelerator, int width)
    {
        var warp = accelerator.WarpSize;
        var limit = Math.Min(Math.Min(accelerator.MaxNumThreadsPerGroup, MaxWarps * warp), PreferredGroupSize) / warp * warp;
        var needed = Math.Max(1, (width + warp - 1) / warp) * warp;
        return Math.Min(needed, limit);
    }

    /// <summary>
    /// Merges one value from every thread of the group: a butterfly of shuffles inside each warp, then the warps' results
    /// through shared memory, merged in the same order by every thread, so all get the same total. Contains barriers: call
    /// it from every thread of the group.
    /// </summary>
    public static T AllReduce<T>(T value) where T : unmanaged, IGroupMergeable<T>
    {
        var warpResults = SharedMemory.Allocate<T>(MaxWarps);
        for (var laneMask = Warp.WarpSize / 2; laneMask > 0; laneMask /= 2)
            value = value.Merge(value.ShuffleXor(laneMask));
        if (Warp.IsFirstLane) warpResults[Warp.WarpIdx] = value;
        Group.Barrier();
        var total = warpResults[0];
        for (var w = 1; w < Group.DimX / Warp.WarpSize; w++) total = total.Merge(warpResults[w]);
        // The slots are free again only once every thread has read them.
        Group.Barrier();
        return total;
    }
}
