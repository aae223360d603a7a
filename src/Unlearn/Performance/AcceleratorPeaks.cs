using ILGPU;
using ILGPU.Runtime;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// A GPU's float32 peak: a kernel of independent multiply-add chains over several threads per hardware thread slot,
/// so every scheduler has work while a chain waits on its latency; and its memory bandwidth: a large device-to-device
/// copy. Each timed between two synchronizations, after a warm-up launch that compiles the kernel.
/// </summary>
public static class AcceleratorPeaks
{
    /// <summary>Independent chains per thread: enough instruction-level parallelism to hide the FMA latency.</summary>
    private const int Chains = 8;

    public static MachinePeak Measure(Accelerator accelerator, bool quick)
    {
        var kernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, float, float>(MultiplyAddKernel);
        var threads = checked(4 * accelerator.NumMultiprocessors * accelerator.MaxNumThreadsPerMultiprocessor);
        var iterations = quick ? 64 : 1024;
        using var sink = accelerator.Allocate1D<float>(threads);
        var flopSeconds = MachinePeaks.BestSeconds(quick ? 2 : 5, () =>
        {
            kernel(threads, sink.View, iterations, 0.999999f, 1e-6f);
            accelerator.Synchronize();
        });
        var gflops = 2.0 * Chains * iterations * (double)threads / flopSeconds / 1e9;

        var length = Math.Min(quick ? 1L << 24 : 1L << 28, accelerator.MemorySize / 8);
        using var source = accelerator.Allocate1D<float>(length);
        using var destination = accelerator.Allocate1D<float>(length);
        source.MemSetToZero();
        var copySeconds = MachinePeaks.BestSeconds(quick ? 2 : 5, () =>
        {
            destination.View.CopyFrom(source.View);
            accelerator.Synchronize();
        });
        return new MachinePeak(accelerator.Name, gflops, 2.0 * sizeof(float) * length / copySeconds / 1e9);
    }

    /// <summary>Written as a·m + c, as the project's kernels write it, which the GPU compilers contract to one FMA.</summary>
    private static void MultiplyAddKernel(Index1D index, ArrayView<float> sink, int iterations, float m, float c)
    {
        float a0 = index * 1e-9f, a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5, a6 = a0 + 6, a7 = a0 + 7;
        for (var i = 0; i < iterations; i++)
        {
            a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
            a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
        }
        sink[index] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    }
}
