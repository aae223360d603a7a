using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The loss heads through the ILGPU ops on both simulated devices, with float32 and with bfloat16 logits and targets
/// (statistics float32), against their float64 references; data and tolerances as <see cref="LossHeadChecks"/> derives them.
/// </summary>
public class LossOpsTests
{
    public static IEnumerable<TestCaseData> Cases() =>
        from device in SimulatedDevices.Names
        from bulk in new[] { Storage.Native, Storage.BFloat16 }
        select new TestCaseData(device, bulk);

    [TestCaseSource(nameof(Cases))]
    public void LogSoftmaxAtLabelsMatchesTheReference(string device, Storage bulk)
        => LossHeadChecks.LogSoftmaxAtLabelsMatchesTheReference(SimulatedDevices.Get(device), bulk);

    [TestCaseSource(nameof(Cases))]
    public void LogSoftmaxSeparateAndInPlaceMatchTheReference(string device, Storage bulk) =>
        LossHeadChecks.LogSoftmaxSeparateAndInPlaceMatchTheReference(SimulatedDevices.Get(device), bulk);

    [TestCaseSource(nameof(Cases))]
    public void KlDivergenceMatchesTheReference(string device, Storage bulk)
        => LossHeadChecks.KlDivergenceMatchesTheReference(SimulatedDevices.Get(device), bulk);
}
