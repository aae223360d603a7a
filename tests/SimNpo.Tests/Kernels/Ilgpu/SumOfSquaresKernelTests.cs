using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

public class SumOfSquaresKernelTests
{
    private static IEnumerable<TestCaseData> Cases() =>
        from device in SimulatedDevices.Names
        from length in new[] { 1, 37, 20_000 } // one partial warp; a partial group; several groups on both devices
        select new TestCaseData(device, length);

    /// <summary>
    /// Each thread's float32 partial of at most 64 positive terms is within 64·2⁻²⁴ ≈ 3.8e-6 of exact, relative; the rest
    /// is float64, as is the reference: 4e-6 relative bounds the difference.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void MatchesTheFloat64Reference(string device, int length)
    {
        var values = OpData.Random(new Random(length), length, scale: 3);
        var expected = SumOfSquares.Reference.Compute<float>(values.Select(x => (float)x).ToArray());
        IOps<float> ops = SimulatedDevices.Get(device);
        Assert.That(ops.SumOfSquares(ops.Upload(values)), Is.EqualTo(expected).Within(4e-6 * expected));
    }

    [TestCaseSource(typeof(SimulatedDevices), nameof(SimulatedDevices.Names))]
    public void SumsOnlyItsView(string device)
    {
        IOps<float> ops = SimulatedDevices.Get(device);
        var values = ops.Upload(100, 1, 2, 100);
        Assert.That(ops.SumOfSquares(values.Slice(1, 2)), Is.EqualTo(5));
    }
}
