using SimNpo.Kernels;
using SimNpo.Tests.Model;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The whole model in bf16 on the Nvidia-like simulator (the tensor-core GEMM emulated lane by lane, 50 s) against the
/// float64 PyTorch fixture, within the bounds <see cref="LlamaFixtureTests.FastCpuBf16MatchesPyTorch"/> derives. Here,
/// beside the kernels, because the simulated devices live as long as this namespace's tests.
/// </summary>
public class ModelBf16Tests
{
    [Test]
    public void IlgpuBf16MatchesPyTorch() =>
        LlamaFixtureTests.Compare("untied", "simnpo", 36 * BFloat16.UnitRoundoff, SimulatedDevices.Get(SimulatedDevices.Nvidia), Precision.Bf16,
            72 * BFloat16.UnitRoundoff);
}
