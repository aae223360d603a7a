using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;
using SimNpo.Kernels.Runtime;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// ILGPU's two simulated devices: the default CPU device (warps of 4, groups up to 16) and the NVIDIA-like one (warps
/// of 32, groups up to 1024), so that an assumption about either size shows. Each is opened once for the whole run:
/// compiling a kernel costs more than running it at these shapes. The one fixture for both: the op cases
/// (<see cref="OpBackend"/>), the tests through IOps and the raw-kernel tests (<see cref="CpuAcceleratorFixture"/>) share
/// these two devices.
/// </summary>
public static class SimulatedDevices
{
    public const string Default = "default", Nvidia = "nvidia";

    public static readonly string[] Names = [Default, Nvidia];

    private static readonly Lazy<IlgpuOps> NvidiaLike = new(() => IlgpuOps.Create(AcceleratorType.CPU, b => b.CPU(CPUDevice.Nvidia))!);

    /// <summary>The default device is the one `--device ilgpu-cpu` opens, so the model and command tests share its kernels.</summary>
    public static IlgpuOps Get(CPUDeviceKind kind) => Get(kind == CPUDeviceKind.Nvidia ? Nvidia : Default);

    public static IlgpuOps Get(string name) => name == Nvidia ? NvidiaLike.Value : (IlgpuOps)Devices.Create("ilgpu-cpu");

    /// <summary>After the whole run (<see cref="CloseSimulatedDevices"/>): the model tests use the devices too.</summary>
    public static void CloseTheNvidiaLikeDevice()
    {
        if (NvidiaLike.IsValueCreated) NvidiaLike.Value.Dispose();
    }
}
