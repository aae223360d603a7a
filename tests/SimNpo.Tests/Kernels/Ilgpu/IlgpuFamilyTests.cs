using SimNpo.Tests.Model;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// Mistral, Qwen2, Phi and Gemma on ILGPU's simulated devices against their float64 PyTorch fixtures: logits, log-probs,
/// the SimNPO loss and every gradient (<see cref="FamilyFixtureTests"/>). float32 with the device's own summation orders
/// and atomics: like the fast CPU path, each result within 2e-5 of the tensor's largest magnitude (IlgpuModelTests
/// holds the Llama graph to the same bound). Here, beside the kernels, because the simulated devices live as long as
/// this namespace's tests.
/// </summary>
public class IlgpuFamilyTests
{
    private static IEnumerable<TestCaseData> Cases() =>
        from family in FamilyFixtureTests.Families
        from device in SimulatedDevices.Names
        select new TestCaseData(family, device);

    [TestCaseSource(nameof(Cases))]
    public void SimulatedDeviceMatchesPyTorch(string family, string device) =>
        LlamaFixtureTests.CompareWithFixture(FamilyFixtureTests.Directory(family), "simnpo", 2e-5, SimulatedDevices.Get(device));
}
