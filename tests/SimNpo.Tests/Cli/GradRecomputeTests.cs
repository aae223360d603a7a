using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>`simnpo grad --recompute layers` writes the very bytes `--recompute none` writes: loss, log-probs, every gradient.</summary>
public class GradRecomputeTests
{
    [TestCase("untied")]
    [TestCase("tied")]
    public void RecomputingTheLayersWritesTheSameFile(string configuration)
    {
        using var directory = new TempDirectory();
        var model = Path.Combine(AppContext.BaseDirectory, "Fixtures", "llama", configuration);
        byte[] Grad(string recompute)
        {
            var output = directory.File($"grad-{recompute}.safetensors");
            var (code, _, error) = Simnpo.Run("grad", "--model", model, "--data", Path.Combine(model, "batch.jsonl"), "--objective", "simnpo",
                "--beta", "2.5", "--gamma", "0.5", "--recompute", recompute, "--out", output);
            Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
            return File.ReadAllBytes(output);
        }
        Assert.That(Grad("layers"), Is.EqualTo(Grad("none")));
    }
}
