using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Unlearn.Performance;

/// <summary>The most memory this process has held: its peak resident set, and on an ILGPU device the peak its buffers took.</summary>
public static class PeakMemory
{
    public const string ResidentKey = "peak_rss_bytes";
    public const string DeviceKey = "device_allocated_bytes";

    public static IReadOnlyDictionary<string, long> Of(IOps<float> ops)
    {
        var peaks = new Dictionary<string, long> { [ResidentKey] = PeakResidentBytes() };
        if (ops is IlgpuOps ilgpu) peaks[DeviceKey] = ilgpu.Allocated.Peak;
        return peaks;
    }

    /// <summary>VmHWM of /proc/self/status (Linux), the high-water mark of the resident set; elsewhere the current working set.</summary>
    public static long PeakResidentBytes()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return Environment.WorkingSet;
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        // "VmHWM:	  123456 kB"
        return line is null ? Environment.WorkingSet : 1024 * long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0]);
    }
}
