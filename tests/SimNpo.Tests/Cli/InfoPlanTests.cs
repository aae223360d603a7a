using SimNpo.Cli;
using SimNpo.Tests.Model;

namespace SimNpo.Tests.Cli;

/// <summary>`simnpo info` as a memory plan: a config.json alone is enough; --device-memory turns the plan into a check.</summary>
public class InfoPlanTests
{
    internal static string Llama2_7B(TempDirectory directory)
    {
        File.WriteAllText(directory.File("config.json"), MemoryPlanTests.Llama2_7BConfigJson);
        return directory.Path;
    }

    [Test]
    public void Llama2_7BInBf16WithRecomputationFitsAnH200()
    {
        using var directory = new TempDirectory();
        var (code, output, error) = Simnpo.Run("info", "--model", Llama2_7B(directory), "--precision", "bf16", "--recompute", "layers",
            "--batch-size", "4", "--seq-len", "512", "--device-memory", "141");
        TestContext.Out.WriteLine(output);
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        foreach (var line in new[]
                 {
                     @"parameters\s+6,738,415,616", @"checkpoint dtype\s+none \(config.json only\)", @"weights \(bf16\)\s+13\.477 GB",
                     @"master weights \(fp32\)\s+26\.954 GB", @"AdamW moments \(fp32\)\s+53\.907 GB", @"gradients \(bf16\)\s+13\.477 GB",
                     @"activations \(recompute layers\)\s+1\.110 GB", @"loss scratch \(fp32\)\s+0\.034 GB", @"total\s+108\.958 GB",
                     @"activations with recompute none: 8\.952 GB", @"fits\s+yes, 141 GB \(32\.04 GB to spare\)",
                 })
            Assert.That(output, Does.Match(line));
    }

    [Test]
    public void Bf16OptimizerStateHalvesTheMomentsLine()
    {
        using var directory = new TempDirectory();
        var (code, output, error) = Simnpo.Run("info", "--model", Llama2_7B(directory), "--precision", "bf16", "--recompute", "layers",
            "--optimizer-state", "bf16", "--batch-size", "4", "--seq-len", "512");
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        Assert.That(output, Does.Match(@"AdamW moments \(bf16\)\s+26\.954 GB"));
        Assert.That(output, Does.Not.Contain("fits"));
    }

    [Test]
    public void APlanThatDoesNotFitIsAFailureWithItsReason()
    {
        using var directory = new TempDirectory();
        var (code, output, error) = Simnpo.Run("info", "--model", Llama2_7B(directory), "--batch-size", "4", "--seq-len", "512", "--device-memory", "80");
        Assert.That(code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(output, Does.Match(@"total\s+125\.744 GB").And.Match(@"fits\s+no, 80 GB"));
        Assert.That(error,
            Does.StartWith("error: training needs 125.74 GB at batch 4 x 512 (fp32, recompute none), more than the device's 80 GB; try --recompute layers"));
    }

    [Test]
    public void AnUnknownRecomputeSettingIsAUsageError()
    {
        using var directory = new TempDirectory();
        var (code, _, error) = Simnpo.Run("info", "--model", Llama2_7B(directory), "--recompute", "attention");
        Assert.That(code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(error, Does.Contain("attention"));
    }
}
