using SimNpo.Cli;
using SimNpo.Tests.Training;

namespace SimNpo.Tests.Cli;

/// <summary>Numbers no run can use are usage errors (exit 2), named by their option, before any file is read.</summary>
public class OptionRangeTests
{
    [TestCase("--beta", "NaN", "beta must be a positive number, got NaN")]
    [TestCase("--beta", "Infinity", "beta must be a positive number, got Infinity")]
    [TestCase("--gamma", "NaN", "gamma must be a finite number, got NaN")]
    [TestCase("--gamma", "-Infinity", "gamma must be a finite number, got -Infinity")]
    [TestCase("--forget-weight", "NaN", "forget-weight must be a finite number, got NaN")]
    [TestCase("--weight-decay", "Infinity", "weight-decay must be a finite number, got Infinity")]
    [TestCase("--retain-weight", "-1", "retain-weight must be a non-negative number, got -1")]
    [TestCase("--retain-weight", "NaN", "retain-weight must be a non-negative number, got NaN")]
    public void UnlearningRefusesBeforeLoading(string option, string value, string message)
    {
        using var directory = new TempDirectory();
        // The model and data do not exist: a check made after loading would report them (exit 1) instead.
        var (code, _, error) = Simnpo.Run("unlearn", "--model", directory.File("no-model"), "--forget", directory.File("no.jsonl"), "--out", directory.File("out"), option, value);
        Assert.That(code, Is.EqualTo(CommandRunner.Usage), error);
        Assert.That(error, Is.EqualTo($"error: {message}" + Environment.NewLine));
        Assert.That(Directory.Exists(directory.File("out")), Is.False);
    }

    [TestCase("--beta", "NaN")]
    [TestCase("--gamma", "Infinity")]
    public void GradRefusesBeforeLoading(string option, string value)
    {
        using var directory = new TempDirectory();
        var (code, _, error) = Simnpo.Run("grad", "--model", directory.File("no-model"), "--data", directory.File("no.jsonl"), "--objective", "simnpo",
            "--out", directory.File("grad.safetensors"), option, value);
        Assert.That(code, Is.EqualTo(CommandRunner.Usage), error);
        Assert.That(error, Does.StartWith($"error: {option[2..]} must be"));
    }

    [TestCase("--weight-decay", "NaN", "weight-decay must be a finite number, got NaN")]
    [TestCase("--lr", "Infinity", "lr must be a non-negative number")]
    public void RelearningRefusesBeforeLoading(string option, string value, string message)
    {
        using var directory = new TempDirectory();
        var (code, _, error) = Simnpo.Run("relearn", "--model", directory.File("no-model"), "--data", directory.File("no.jsonl"), "--out", directory.File("out"), option, value);
        Assert.That(code, Is.EqualTo(CommandRunner.Usage), error);
        Assert.That(error, Is.EqualTo($"error: {message}" + Environment.NewLine));
    }

    /// <summary>2·10⁹ epochs of 12 one-example steps is 2.4·10¹⁰ steps: computed in 64 bits and refused, not wrapped to a negative count.</summary>
    [Test]
    public void AStepCountBeyondThirtyTwoBitsIsRefused()
    {
        using var directory = new TempDirectory();
        var model = TinyModelFiles.SaveModel(directory.File("model"));
        TinyModelFiles.WriteRecords(directory.File("forget.jsonl"), TinyTask.Forget);
        var (code, _, error) = Simnpo.Run("unlearn", "--model", model, "--forget", directory.File("forget.jsonl"), "--method", "ga", "--out", directory.File("out"),
            "--epochs", "2000000000", "--batch-size", "1", "--grad-accum", "1");
        Assert.That(code, Is.EqualTo(CommandRunner.Usage), error);
        Assert.That(error, Does.Contain("epochs 2000000000 × 12 steps per epoch = 24000000000 optimizer steps, more than a run can count (2147483647)"));
    }
}
