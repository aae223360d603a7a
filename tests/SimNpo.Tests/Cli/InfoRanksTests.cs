using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>`simnpo info --ranks N [--shard-optimizer]`: the memory plan of each data-parallel rank.</summary>
public class InfoRanksTests
{
    /// <summary>The figures of ShardedMemoryPlanTests: 68.527 GB a rank, the master weights and moments halved.</summary>
    [Test]
    public void Llama2_7BInBf16ShardedAcrossTwoFitsAn80GigabyteDevicePerRank()
    {
        using var directory = new TempDirectory();
        var (code, output, error) = Simnpo.Run("info", "--model", InfoPlanTests.Llama2_7B(directory), "--precision", "bf16", "--recompute", "layers",
            "--batch-size", "4", "--seq-len", "512", "--ranks", "2", "--shard-optimizer", "--device-memory", "80");
        TestContext.Out.WriteLine(output);
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        foreach (var line in new[]
                 {
                     @"per rank of 2 with the optimizer sharded \(ZeRO stage 1\)", @"weights \(bf16\)\s+13\.477 GB",
                     @"master weights \(fp32, 1/2 slice\)\s+13\.477 GB", @"AdamW moments \(fp32, 1/2 slice\)\s+26\.954 GB",
                     @"gradients \(bf16\)\s+13\.477 GB", @"total\s+68\.527 GB", @"fits\s+yes, 80 GB \(11\.47 GB to spare\)",
                 })
            Assert.That(output, Does.Match(line));
    }

    [Test]
    public void UnshardedEachRankNeedsWhatOneProcessNeedsAndIsToldToShard()
    {
        using var directory = new TempDirectory();
        var (code, output, error) = Simnpo.Run("info", "--model", InfoPlanTests.Llama2_7B(directory), "--precision", "bf16", "--recompute", "layers",
            "--batch-size", "4", "--seq-len", "512", "--ranks", "2", "--device-memory", "80");
        Assert.That(code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(output, Does.Match(@"total\s+108\.958 GB"));
        Assert.That(error, Does.Contain("108.96 GB per rank").And.Contain("--shard-optimizer"));
    }

    [Test]
    public void ZeroRanksIsAUsageError()
    {
        using var directory = new TempDirectory();
        var (code, _, error) = Simnpo.Run("info", "--model", InfoPlanTests.Llama2_7B(directory), "--ranks", "0");
        Assert.That(code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(error, Does.Contain("--ranks must be at least 1"));
    }
}
