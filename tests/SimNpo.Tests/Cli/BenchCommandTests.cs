using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Cli;

/// <summary>`simnpo bench` end to end at tiny sizes, without PyTorch; no timing is asserted, only that figures exist and are positive.</summary>
public class BenchCommandTests
{
    /// <summary>The step runs in a worker process (simnpo bench-worker, started through the dotnet host from the test).</summary>
    [Test]
    public void TheStepSuiteAtATinyShapeWritesItsResults()
    {
        using var directory = new TempDirectory();
        var run = Simnpo.Run("bench", "--suite", "step", "--shapes", "stories260K", "--batch-size", "1", "--seq-len", "8", "--rounds", "2",
            "--min-seconds", "0.01", "--device", "cpu", "--out", directory.Path);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        var json = Directory.GetFiles(directory.Path, "bench-cpu-*.json").Single();
        Assert.That(File.Exists(Path.ChangeExtension(json, ".md")));
        var step = JsonNode.Parse(File.ReadAllText(json))!["steps"]!.AsArray().Single()!;
        Assert.That(step["shape"]!.GetValue<string>(), Is.EqualTo("stories260K"));
        Assert.That(step["tokens_per_second"]!["simnpo_rounds"]!.AsArray().Select(v => v!.GetValue<double>()), Has.Exactly(2).GreaterThan(0));
        Assert.That(step["simnpo_memory"]![PeakMemory.ResidentKey]!.GetValue<long>(), Is.GreaterThan(0));
        Assert.That(run.Output, Does.Contain("| stories260K | fp32 | 1 × 8 |"));
        Assert.That(run.Error, Does.Contain("round 2/2"));
    }

    [Test]
    public void AnUnknownShapeIsAUsageError()
    {
        var run = Simnpo.Run("bench", "--shapes", "15M,huge", "--device", "cpu");
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(run.Error, Does.Contain("unknown model shape 'huge'"));
    }

    [TestCase("/nonexistent/python3", "Python not found")]
    [TestCase("/bin/false", "cannot import torch")]
    public void AMissingPythonOrTorchSaysHowToInstallIt(string python, string problem)
    {
        var run = Simnpo.Run("bench", "--suite", "sgemm", "--sizes", "16", "--against-torch", "--python", python, "--device", "cpu");
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(run.Error, Does.Contain(problem).And.Contain("apt-get install python3-torch"));
    }
}
