using System.Diagnostics;
using ILGPU.Runtime;
using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Unlearn.Performance;

/// <summary>What the device the ops run on can do at best: float32 GFLOP/s (a multiply-add is 2) and memory GB/s (read + written).</summary>
public sealed record MachinePeak(string Device, double Gflops, double GigabytesPerSecond);

/// <summary>
/// Measures, in this process, the peaks an op's achieved rate is compared with: on a GPU with kernels of its own, on
/// the CPU (the CPU backends, and ILGPU's CPU simulator, which runs on the same cores) with every core. Best of a few
/// repeats, so a stray interruption lowers nothing. Quick mode (well under a second on a CPU) uses smaller sizes.
/// </summary>
public static class MachinePeaks
{
    public static MachinePeak Measure(IOps<float> ops, bool quick = false) =>
        ops is IlgpuOps { Accelerator.AcceleratorType: not AcceleratorType.CPU } device
            ? AcceleratorPeaks.Measure(device.Accelerator, quick)
            : CpuPeaks.Measure(quick);

    /// <summary>The shortest of the runs' wall times in seconds; the first run is a warm-up and not counted.</summary>
    internal static double BestSeconds(int repeats, Action run)
    {
        run();
        var best = double.PositiveInfinity;
        for (var i = 0; i < repeats; i++)
        {
            var started = Stopwatch.GetTimestamp();
            run();
            best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        return best;
    }
}
