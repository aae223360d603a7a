using System.Text.Json.Nodes;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Performance;

/// <summary>The results files of a made-up run with round numbers, so every figure in them can be checked by hand.</summary>
public class BenchReportTests
{
    private static BenchReport Report(bool withTorch) => new()
    {
        Date = new DateTimeOffset(2025, 3, 14, 9, 26, 53, TimeSpan.Zero),
        CommandLine = "simnpo bench --rounds 3",
        Machine = new MachineInfo("Test CPU 9000", 16, "Linux", ".NET 10.0.0"),
        DeviceKind = "cpu",
        Device = "cpu (AVX2+FMA, 16 threads)",
        Peak = new MachinePeak("cpu (AVX2+FMA, 16 threads)", 1000, 50),
        Torch = withTorch ? new Dictionary<string, string> { ["torch"] = "2.5.1", ["blas"] = "libopenblas.so" } : null,
        Rounds = 3,
        MinSeconds = 0.2,
        Sgemm =
        [
            new SgemmResult("256x256x256", "fp32", "square",
                new Comparison("matmul 256x256x256 GFLOP/s", [400, 500, 450], withTorch ? [800, 1000, 900] : null, 1000),
                new Comparison("backward 256x256x256 GFLOP/s", [300, 300, 300], withTorch ? [600, 300, 600] : null, 1000)),
        ],
        Attention =
        [
            new AttentionResult("4x8x512x64", "bf16", "1B",
                new Comparison("attention 4x8x512x64 GFLOP/s", [100, 100, 100], withTorch ? [200, 200, 200] : null, 1000),
                new Comparison("attention+backward 4x8x512x64 GFLOP/s", [70, 80, 90], withTorch ? [70, 80, 90] : null, 1000)),
        ],
        Steps =
        [
            new StepResult("15M", "bf16", 8, 256, 24_400_000, 2e11, new Comparison("tokens/s", [1000, 1200, 1100], withTorch ? [500, 600, 550] : null, 5120),
                new Dictionary<string, long> { [PeakMemory.ResidentKey] = 300L << 20 },
                withTorch ? new Dictionary<string, long> { [PeakMemory.ResidentKey] = 900L << 20 } : null),
        ],
    };

    [Test]
    public void WritesMarkdownAndJsonNamedAfterDeviceAndDate()
    {
        using var directory = new TempDirectory();
        var path = Report(withTorch: true).Write(directory.Path);
        Assert.That(path, Is.EqualTo(directory.File("bench-cpu-2025-03-14.md")));
        var json = JsonNode.Parse(File.ReadAllText(directory.File("bench-cpu-2025-03-14.json")))!;
        Assert.That(json["command_line"]!.GetValue<string>(), Is.EqualTo("simnpo bench --rounds 3"));
        Assert.That(json["machine"]!["cpu"]!.GetValue<string>(), Is.EqualTo("Test CPU 9000"));
        Assert.That(json["peak"]!["gflops"]!.GetValue<double>(), Is.EqualTo(1000));
        var matMul = json["sgemm"]![0]!["matmul"]!;
        Assert.That(matMul["simnpo"]!["median"]!.GetValue<double>(), Is.EqualTo(450));
        Assert.That(matMul["torch"]!["median"]!.GetValue<double>(), Is.EqualTo(900));
        Assert.That(matMul["ratio"]!["median"]!.GetValue<double>(), Is.EqualTo(0.5));
        Assert.That(matMul["simnpo_percent_of_peak"]!.GetValue<double>(), Is.EqualTo(45));
        var step = json["steps"]![0]!;
        Assert.That(step["tokens_per_second"]!["simnpo_rounds"]!.AsArray().Select(v => v!.GetValue<double>()), Is.EqualTo(new[] { 1000.0, 1200, 1100 }));
        Assert.That(step["torch_memory"]![PeakMemory.ResidentKey]!.GetValue<long>(), Is.EqualTo(900L << 20));
        Assert.That(File.ReadAllText(path), Is.EqualTo(Report(withTorch: true).ToMarkdown()));
    }

    /// <summary>
    /// Ratios are per round: the backward's rounds 300/600, 300/300, 300/600 give 0.5, 1, 0.5, median 0.5, though the
    /// medians 300 and 600 alone would give the same; the step's tokens/s at peak 5120 make 1100 21.5 %.
    /// </summary>
    [Test]
    public void MarkdownTablesHoldEveryFigure()
    {
        var markdown = Report(withTorch: true).ToMarkdown();
        Assert.That(markdown, Does.Contain("- machine: Test CPU 9000, 16 cores, Linux, .NET 10.0.0"));
        Assert.That(markdown, Does.Contain("- PyTorch: torch 2.5.1, blas libopenblas.so"));
        Assert.That(markdown,
            Does.Contain("| 256x256x256 | fp32 | square | 450 [400–500] | 45.0 | 900 [800–1000] | 90.0 | 0.50 [0.50–0.50] | 300 [300–300] | 30.0 | 600 "
            + "[300–600] | 60.0 | 0.50 [0.50–1.00] |"));
        Assert.That(markdown,
            Does.Contain("| 4x8x512x64 | bf16 | 1B | 100 [100–100] | 10.0 | 200 [200–200] | 20.0 | 0.50 [0.50–0.50] | 80.0 [70.0–90.0] | 8.00 | 80.0 "
            + "[70.0–90.0] | 8.00 | 1.00 [1.00–1.00] |"));
        Assert.That(markdown,
            Does.Contain(
            "| 15M | bf16 | 8 × 256 | 24.40 M | 200 | 1100 [1000–1200] | 21.5 | 550 [500–600] | 10.7 | 2.00 [2.00–2.00] | RSS 300 MiB | RSS 900 MiB |"));
    }

    [Test]
    public void WithoutTorchTheTablesHaveOnlySimNposColumns()
    {
        var markdown = Report(withTorch: false).ToMarkdown();
        Assert.That(markdown, Does.Not.Contain("PyTorch"));
        Assert.That(markdown, Does.Contain("| 256x256x256 | fp32 | square | 450 [400–500] | 45.0 | 300 [300–300] | 30.0 |"));
        Assert.That(markdown, Does.Contain("| 15M | bf16 | 8 × 256 | 24.40 M | 200 | 1100 [1000–1200] | 21.5 | RSS 300 MiB |"));
    }
}
