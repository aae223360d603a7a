using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using SimNpo.Kernels.Cpu;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Kernels.Runtime;

/// <summary>
/// Picks the op implementation that `--device` names. An ILGPU device is opened once per process and shared: its
/// context, accelerator and compiled kernels live until the process exits, so later models and commands reuse them.
/// With several CUDA devices, each rank of a job on the machine opens its own (<see cref="LocalRank"/>).
/// </summary>
public static class Devices
{
    public const string Default = "auto";

    /// <summary>
    /// auto: CUDA, else an OpenCL GPU, else the fast CPU path. ilgpu-cpu: ILGPU's CPU accelerator, which simulates a
    /// GPU thread by thread: for testing only. cpu: the fast CPU path (<see cref="FastCpuOps"/>); reference: the plain CPU
    /// reference it is verified against.
    /// </summary>
    public static readonly string[] Names = ["auto", "cuda", "opencl", "ilgpu-cpu", "cpu", "reference"];

    private static readonly ConcurrentDictionary<string, Lazy<IlgpuOps?>> Opened = new();

    public static IOps<float> Create(string name) => name switch
    {
        "auto" => Open("cuda", AcceleratorType.Cuda, b => b.Cuda(), LocalRank.Current)
            ?? Open("opencl-gpu", AcceleratorType.OpenCL, b => b.OpenCL(d => d.DeviceType == CLDeviceType.CL_DEVICE_TYPE_GPU))
            ?? (IOps<float>)new FastCpuOps(),
        "cuda" => Open(name, AcceleratorType.Cuda, b => b.Cuda(), LocalRank.Current) ?? throw new NotSupportedException("no CUDA device found"),
        "opencl" => Open(name, AcceleratorType.OpenCL, b => b.OpenCL()) ?? throw new NotSupportedException("no OpenCL device found"),
        "ilgpu-cpu" => Open(name, AcceleratorType.CPU, b => b.CPU(CPUDevice.Default))!,
        "cpu" => new FastCpuOps(),
        "reference" => new ReferenceOps<float>(),
        _ => throw new NotSupportedException($"device '{name}' is not available (choose one of: {string.Join(", ", Names)})"),
    };

    /// <summary>--precision's choices: auto picks <see cref="DefaultPrecision"/> for the device.</summary>
    public static readonly string[] PrecisionNames = ["auto", .. Precision.All.Select(p => p.Name)];

    /// <summary>
    /// bf16 on a GPU, where it halves memory and traffic and (with tensor-core kernels) multiplies the matmul rate; fp32 on
    /// the CPU paths, where the step measured faster in float32 (README, Precision) and the reference knows no other.
    /// </summary>
    public static Precision DefaultPrecision(IOps<float> ops) =>
        ops is IlgpuOps { Accelerator.AcceleratorType: AcceleratorType.Cuda or AcceleratorType.OpenCL } ? Precision.Bf16 : Precision.Fp32;

    /// <summary>The precision a --precision value names on this device, whether or not the device can run it (for plans).</summary>
    public static Precision NamedPrecision(string name, IOps<float> ops) => name == "auto" ? DefaultPrecision(ops) : Precision.Parse(name);

    /// <summary>The precision a --precision value names on this device; one the device cannot store is an ArgumentException.</summary>
    public static Precision ResolvePrecision(string name, IOps<float> ops)
    {
        var precision = NamedPrecision(name, ops);
        return ops.Supports(precision.Bulk)
            ? precision
            : throw new ArgumentException(
                $"--precision {precision.Name}: the {ops.Name} device cannot run it (choose fp32, or --device cpu or a GPU for bf16)");
    }

    /// <param name="index">Which of several such devices: a CUDA device per rank of a data-parallel job (<see cref="LocalRank"/>).</param>
    private static IlgpuOps? Open(string key, AcceleratorType type, Func<Context.Builder, Context.Builder> selectDevices, int index = 0) =>
        Opened.GetOrAdd(key, _ => new Lazy<IlgpuOps?>(() => IlgpuOps.Create(type, selectDevices, index))).Value;
}
