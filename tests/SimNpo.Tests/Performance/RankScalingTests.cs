using SimNpo.Cli;
using SimNpo.Tests.Cli;

namespace SimNpo.Tests.Performance;

/// <summary>`simnpo bench --ranks`: runs the data-parallel step at each rank count and writes its table (tiny shape: the plumbing, not the speed).</summary>
public class RankScalingTests
{
    [Test]
    public void BenchRanksWritesTokensPerSecondEfficiencyAndTheAllReduceShare()
    {
        using var directory = new TempDirectory();
        var (code, output, error) = Simnpo.Run("bench", "--ranks", "1,2", "--shapes", "stories260K", "--batch-size", "1", "--seq-len", "16", "--rounds", "1",
            "--out", directory.Path);
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        var page = File.ReadAllText(Directory.GetFiles(directory.Path, "bench-ranks-cpu-*.md").Single());
        Assert.That(page, Does.Contain("| ranks | tokens/s | scaling efficiency | step (ms) | all-reduce (ms) | all-reduce share |"));
        Assert.That(page, Does.Match(@"\| 1 \| \d+ \| - \|").And.Match(@"\| 2 \| \d+ \| \d+% \|"));
        Assert.That(output, Does.Contain("2 rank(s):"));
    }

    [Test]
    public void ARankCountBelowOneIsAUsageError()
    {
        var (code, _, error) = Simnpo.Run("bench", "--ranks", "0,2");
        Assert.That(code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(error, Does.Contain("--ranks: '0' is not a positive integer"));
    }
}
