using SimNpo.Kernels;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Performance;

/// <summary>
/// The roofline arithmetic of one op's row, by hand: a machine of 100 GFLOP/s and 10 GB/s has its ridge at 10 FLOPs per
/// byte. Totals are over two steps, so every per-step figure is half of them.
/// </summary>
public class OpProfileTests
{
    private static readonly MachinePeak Peak = new("test", Gflops: 100, GigabytesPerSecond: 10);

    [Test]
    public void AnOpAboveTheRidgeIsMeasuredInFlops()
    {
        // 2e6 FLOPs and 1e5 bytes per step (20 FLOPs per byte) in 1 ms: 2 GFLOP/s, 2% of the FLOP peak, a quarter of a 4 ms step.
        var row = OpProfile.From(new OpTotals(OpName.MatMul, 4, 2e-3, 4_000_000, 200_000), steps: 2, stepSeconds: 4e-3, Peak);
        Assert.That(row.ComputeBound, Is.True);
        Assert.That((row.Calls, row.Seconds, row.Share, row.Flops, row.Bytes), Is.EqualTo((2.0, 1e-3, 0.25, 2e6, 1e5)));
        Assert.That(row.Achieved, Is.EqualTo(2).Within(1e-12));
        Assert.That(row.PercentOfPeak, Is.EqualTo(2).Within(1e-12));
        Assert.That(row.Unit, Is.EqualTo("GFLOP/s"));
    }

    [Test]
    public void AnOpBelowTheRidgeIsMeasuredInBytes()
    {
        // 1e5 FLOPs and 1e5 bytes per step (1 FLOP per byte) in 1 ms: 0.1 GB/s, 1% of the bandwidth.
        var row = OpProfile.From(new OpTotals(OpName.Add, 4, 2e-3, 200_000, 200_000), steps: 2, stepSeconds: 4e-3, Peak);
        Assert.That(row.ComputeBound, Is.False);
        Assert.That(row.Achieved, Is.EqualTo(0.1).Within(1e-12));
        Assert.That(row.PercentOfPeak, Is.EqualTo(1).Within(1e-12));
        Assert.That(row.Unit, Is.EqualTo("GB/s"));
    }
}
