using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Kernels.Runtime;

namespace SimNpo.Tests.Kernels.Ilgpu;

public class DeviceSelectionTests
{
    [Test]
    public void SimulatedDevicesNameTheirWarpAndGroupSizes()
    {
        Assert.That(SimulatedDevices.Get(SimulatedDevices.Default).Name, Is.EqualTo("ilgpu-cpu (warp 4, groups 16)"));
        Assert.That(SimulatedDevices.Get(SimulatedDevices.Nvidia).Name, Is.EqualTo("ilgpu-cpu (warp 32, groups 1024)"));
    }

    [Test]
    public void IlgpuCpuIsOpenedOncePerProcess() => Assert.That(Devices.Create("ilgpu-cpu"), Is.SameAs(Devices.Create("ilgpu-cpu")));

    [Test]
    public void ReferenceNamesTheReference() => Assert.That(Devices.Create("reference"), Is.InstanceOf<ReferenceOps<float>>());

    /// <summary>Where the machine has a GPU the named device opens; where it has none the error says so.</summary>
    [TestCase("cuda", "cuda: ", "no CUDA device found")]
    [TestCase("opencl", "opencl: ", "no OpenCL device found")]
    public void AGpuDeviceOpensOrSaysItIsMissing(string name, string namePrefix, string missing)
    {
        try
        {
            Assert.That(Devices.Create(name).Name, Does.StartWith(namePrefix));
        }
        catch (NotSupportedException e)
        {
            Assert.That(e.Message, Is.EqualTo(missing));
        }
    }

    [Test]
    public void AutoFallsBackToTheFastCpuPath()
    {
        var ops = Devices.Create("auto");
        Assert.That(ops.Name, ops is FastCpuOps ? Does.StartWith("cpu (") : Does.StartWith("cuda: ").Or.StartWith("opencl: "));
    }
}
