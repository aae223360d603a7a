using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Performance;

public class SgemmSuiteTests
{
    /// <summary>15M at 8 × 256 rows: dim 288, ffn 768, vocab 32000, one kv head per head (so k and v share q's shape).</summary>
    [Test]
    public void CasesAreTheSquaresThenEachLayerShapeOnce()
    {
        var cases = SgemmSuite.Cases([256, 2048], [BenchmarkModels.Get("15M")]);
        Assert.That(cases.Select(c => $"{c.Shape} {c.UsedBy}"), Is.EqualTo(new[]
        {
            "256x256x256 square",
            "2048x2048x2048 square",
            "2048x288x288 15M q, k, v, o",
            "2048x288x768 15M gate, up",
            "2048x768x288 15M down",
            "2048x288x32000 15M output",
        }));
    }

    [Test]
    public void ATinySizeOnTheCpuDeviceGivesPositiveGflops()
    {
        var cases = SgemmSuite.Cases([16], []);
        using var rounds = SgemmSuite.Rounds(new FastCpuOps(), cases, minSeconds: 0.01, Precision.Fp32);
        var figures = rounds.Round();
        Assert.That(figures.Keys, Is.EqualTo(new[] { "matmul 16x16x16 GFLOP/s", "backward 16x16x16 GFLOP/s" }));
        Assert.That(figures.Values, Has.All.GreaterThan(0).And.All.Matches<double>(double.IsFinite));
        Assert.That(rounds.Finish()[PeakMemory.ResidentKey], Is.GreaterThan(0));
    }
}
