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
    public void UnlearningRefusesBeforeLoading(string option, string value, string message) =>
        Assert.That(UsageError("unlearn", "--model", NoModel, "--forget", NoData, "--out", NoOutput, option, value),
            Is.EqualTo($"error: {message}" + Environment.NewLine));

    [TestCase("--beta", "NaN")]
    [TestCase("--gamma", "Infinity")]
    public void GradRefusesBeforeLoading(string option, string value) =>
        Assert.That(UsageError("grad", "--model", NoModel, "--data", NoData, "--objective", "simnpo", "--out", NoOutput, option, value),
            Does.StartWith($"error: {option[2..]} must be"));

    [TestCase("--weight-decay", "NaN", "weight-decay must be a finite number, got NaN")]
    [TestCase("--lr", "Infinity", "lr must be a non-negative number")]
    public void RelearningRefusesBeforeLoading(string option, string value, string message) =>
        Assert.That(UsageError("relearn", "--model", NoModel, "--data", NoData, "--out", NoOutput, option, value),
            Is.EqualTo($"error: {message}" + Environment.NewLine));

    // None of these exist: a check made after loading would report them (exit 1) instead.
    private const string NoModel = "/nonexistent/model";
    private const string NoData = "/nonexistent/data.jsonl";
    private const string NoOutput = "/nonexistent/out";

    /// <summary>The error output of a command that must be refused as bad usage (exit 2).</summary>
    private static string UsageError(params string[] args)
    {
        var (code, _, error) = Simnpo.Run(args);
        Assert.That(code, Is.EqualTo(CommandRunner.Usage), error);
        return error;
    }

    /// <summary>2·10⁹ epochs of 12 one-example steps is 2.4·10¹⁰ steps: computed in 64 bits and refused, not wrapped to a negative count.</summary>
    [Test]
    public void AStepCountBeyondThirtyTwoBitsIsRefused()
    {
        using var directory = new TempDirectory();
        var model = TinyModelFiles.SaveModel(directory.File("model"));
        TinyModelFiles.WriteRecords(directory.File("forget.jsonl"), TinyTask.Forget);
        var error = UsageError("unlearn", "--model", model, "--forget", directory.File("forget.jsonl"), "--method", "ga", "--out", directory.File("out"),
            "--epochs", "2000000000", "--batch-size", "1", "--grad-accum", "1");
        Assert.That(error, Does.Contain("epochs 2000000000 over 12 examples make 24000000000 optimizer steps, more than a run can count (2147483647)"));
    }

    /// <summary>
    /// No command's default points at files a user does not have: without --data-dir, TOFU comes from the Hub's
    /// locuslab/TOFU (here offline with an empty cache, so the message names it and no request is made).
    /// </summary>
    [TestCase("eval", "tofu")]
    [TestCase("tofu")]
    public void TheTofuDataDefaultsToTheHubDataSet(params string[] command)
    {
        using var cache = new TempDirectory();
        using var hub = new Hub.HubEnvironment(new SimNpo.Unlearn.Hub.HubSettings("http://127.0.0.1:9", cache.Path, null, Offline: true));
        var model = TinyModelFiles.SaveModel(cache.File("model"));
        var (code, _, error) = Simnpo.Run([.. command, "--model", model, "--out", cache.File("out")]);
        Assert.That(code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(error, Does.Contain("dataset locuslab/TOFU is not in the cache"));
    }
}
