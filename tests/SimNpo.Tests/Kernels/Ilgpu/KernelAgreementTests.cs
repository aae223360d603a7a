using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// Every one-pass kernel against the CPU reference run in float64 on the same float32 data, forward and backward, on
/// both simulated devices (<see cref="OpRuns.AssertMatchesFloat64Reference"/>), with float32 and with bfloat16 bulk tensors.
/// </summary>
public class KernelAgreementTests
{
    public static IEnumerable<OpCase> Ops =>
    [
        new EmbeddingKernelCase(), new RmsNormKernelCase(9, 37), new RmsNormKernelCase(4, 70), new RopeKernelCase(), new SwiGluKernelCase(),
    ];

    public static IEnumerable<TestCaseData> Cases() =>
        from device in SimulatedDevices.Names
        from op in Ops
        select new TestCaseData(device, op).SetArgDisplayNames(device, op.ToString());

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchTheReference(string device, OpCase op) => OpRuns.AssertMatchesFloat64Reference(op, SimulatedDevices.Get(device));

    /// <summary>The same ops on bfloat16 bulk tensors, tolerances as <see cref="OpRuns.AssertMatchesFloat64Reference"/> derives them.</summary>
    [TestCaseSource(nameof(Cases))]
    public void InBFloat16ForwardAndBackwardMatchTheReference(string device, OpCase op) =>
        OpRuns.AssertMatchesFloat64Reference(op, SimulatedDevices.Get(device), Storage.BFloat16);
}
