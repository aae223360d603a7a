using System.Runtime.InteropServices;
using System.Text.Json.Serialization;

namespace SimNpo.Unlearn.Performance;

/// <summary>What a benchmark ran on, as its results file records it.</summary>
public sealed record MachineInfo(string Cpu, int Cores, string Os, [property: JsonPropertyName("dotnet")] string DotNet)
{
    public static MachineInfo Current() =>
        new(CpuModel(), Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription);

    /// <summary>The "model name" of /proc/cpuinfo (Linux); elsewhere the architecture.</summary>
    private static string CpuModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        var line = File.Exists(cpuinfo) ? File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
        return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line[(line.IndexOf(':') + 1)..].Trim();
    }
}
