using SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// In no namespace, so it runs once after every test of the assembly: the simulated devices are shared by the kernel, op
/// case and model tests alike, and one closed after the kernel tests' namespace would break a later user.
/// </summary>
[SetUpFixture]
public sealed class CloseSimulatedDevices
{
    [OneTimeTearDown]
    public void Close() => SimulatedDevices.CloseTheNvidiaLikeDevice();
}
