using System.Numerics;
using System.Runtime.Intrinsics.X86;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// The CPU's float32 peak: a register-only loop of Vector&lt;float&gt; multiply-adds on every core (256-bit FMA3 where
/// AVX2 is, what the fast CPU path's micro-kernel uses, so its achievable peak even where AVX-512 exists); and its
/// memory bandwidth: one large array copied on every core, each core its own contiguous part.
/// </summary>
public static class CpuPeaks
{
    /// <summary>
    /// Independent accumulators per core: an FMA has a latency of 4–5 cycles and two issue ports, so 10 chains keep both
    /// busy; 12 leave headroom and, with the two constant operands, still fit the 16 vector registers.
    /// </summary>
    private const int Chains = 12;

    public static string InstructionSet => Fma.IsSupported ? "AVX2+FMA" : $"Vector<float> x{Vector<float>.Count}";

    public static MachinePeak Measure(bool quick)
    {
        var threads = Environment.ProcessorCount;
        return new MachinePeak($"cpu ({InstructionSet}, {threads} threads)", Gflops(threads, quick), GigabytesPerSecond(threads, quick));
    }

    private static double Gflops(int threads, bool quick)
    {
        var iterations = quick ? 1 << 20 : 1 << 24;
        var sinks = new float[threads];
        var seconds = MachinePeaks.BestSeconds(quick ? 2 : 5, () =>
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
                t => sinks[t] = MultiplyAddVector(iterations)));
        if (!sinks.All(float.IsFinite)) throw new InvalidOperationException("the multiply-add loop diverged");
        return 2.0 * Chains * Vector<float>.Count * iterations * threads / seconds / 1e9;
    }

    private static double GigabytesPerSecond(int threads, bool quick)
    {
        // Far beyond any last-level cache (server parts reach a few hundred MB), so the copy streams from memory.
        var length = quick ? 1 << 24 : 1 << 27;
        var source = new float[length];
        var destination = new float[length];
        source.AsSpan().Fill(1);
        var part = (length + threads - 1) / threads;
        var seconds = MachinePeaks.BestSeconds(quick ? 2 : 5, () =>
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var start = Math.Min(t * part, length);
                var count = Math.Min(part, length - start);
                source.AsSpan(start, count).CopyTo(destination.AsSpan(start, count));
            }));
        return 2.0 * sizeof(float) * length / seconds / 1e9;
    }

    private static float MultiplyAddVector(int iterations)
    {
        var (m, c) = (new Vector<float>(0.999999f), new Vector<float>(1e-6f));
        var a0 = Vector<float>.One;
        Vector<float> a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (var i = 0; i < iterations; i++)
        {
            a0 = Vector.FusedMultiplyAdd(a0, m, c); a1 = Vector.FusedMultiplyAdd(a1, m, c); a2 = Vector.FusedMultiplyAdd(a2, m, c);
            a3 = Vector.FusedMultiplyAdd(a3, m, c); a4 = Vector.FusedMultiplyAdd(a4, m, c); a5 = Vector.FusedMultiplyAdd(a5, m, c);
            a6 = Vector.FusedMultiplyAdd(a6, m, c); a7 = Vector.FusedMultiplyAdd(a7, m, c); a8 = Vector.FusedMultiplyAdd(a8, m, c);
            a9 = Vector.FusedMultiplyAdd(a9, m, c); a10 = Vector.FusedMultiplyAdd(a10, m, c); a11 = Vector.FusedMultiplyAdd(a11, m, c);
        }
        return Vector.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
