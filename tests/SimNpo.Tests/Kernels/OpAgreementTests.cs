using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// Every op case on every backend (<see cref="OpBackend.All"/>: the float32 CPU reference, the fast CPU path and both
/// simulated ILGPU devices), forward and backward, against the CPU reference run in float64 on the same data, in float32
/// and, where the backend stores it, with bfloat16 bulk tensors; each within the bound the case derives for that backend
/// (<see cref="OpRuns.AssertMatchesFloat64Reference"/>).
/// </summary>
/// <remarks>
/// Moved here: PrecisionTests.Float32AgreesWithFloat64 (the reference backend), KernelAgreementTests (the simulated
/// devices) and FastCpuOpsTests' two case tests (the fast CPU path).
/// </remarks>
public class OpAgreementTests
{
    public static IEnumerable<TestCaseData> Cases() => OpBackend.CasesFor(OpCases.All);

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackwardMatchTheFloat64Reference(OpCase op, OpBackend backend, Storage bulk)
    {
        Assert.That(backend.Ops.Supports(bulk), $"{backend} stores {bulk}");
        OpRuns.AssertMatchesFloat64Reference(op, backend, bulk);
    }
}
