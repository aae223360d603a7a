using SimNpo.Cli;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Tests.Cli;

/// <summary>`info`, `grad` and `generate` end to end, through the command line.</summary>
public class ModelCommandTests
{
    private static string Fixture(string configuration) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "llama", configuration);

    private static string ConvertStories(TempDirectory directory)
    {
        var (code, _, error) = Simnpo.Run("convert", "llama2c", "--checkpoint", Stories260K.Checkpoint, "--tokenizer", Stories260K.Vocabulary, "--out",
            directory.Path);
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        return directory.Path;
    }

    [Test]
    public void InfoDescribesConvertedStories260K()
    {
        using var directory = new TempDirectory();
        var (code, output, _) = Simnpo.Run("info", "--model", ConvertStories(directory), "--batch-size", "2", "--seq-len", "64");
        Assert.That(code, Is.EqualTo(CommandRunner.Success));
        foreach (var line in new[] { @"layers\s+5", @"dim\s+64", @"heads\s+8", @"kv heads\s+4", @"vocab\s+512", @"parameters\s+260,032",
            @"checkpoint dtype\s+F32" })
            Assert.That(output, Does.Match(line));
    }

    /// <summary>
    /// The written file holds what PyTorch computed (float32 against float64: 2e-5 of each tensor's largest magnitude,
    /// as in LlamaFixtureTests), under the names the issue fixes: loss, seq_logprob, seq_len, grad.&lt;name&gt;.
    /// </summary>
    [TestCase("untied", "simnpo")]
    [TestCase("tied", "npo")]
    public void GradWritesLossLogProbsAndEveryGradient(string configuration, string objective)
    {
        using var directory = new TempDirectory();
        var model = Fixture(configuration);
        var output = directory.File("grad.safetensors");
        var beta = objective == "npo" ? "0.1" : "2.5";
        var (code, _, error) = Simnpo.Run("grad", "--model", model, "--data", Path.Combine(model, "batch.jsonl"), "--objective", objective,
            "--beta", beta, "--gamma", "0.5", "--ref-model", Path.Combine(model, "ref"), "--out", output);
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);

        using var written = SafeTensorsFile.Open(output);
        using var expected = SafeTensorsFile.Open(Path.Combine(model, "expected.safetensors"));
        double[] Read(string name) => written.ReadFloat32(name).Select(x => (double)x).ToArray();
        Model.LlamaFixtureTests.AssertClose(Read("loss"), expected.ReadFloat64("loss_" + objective), 2e-5, "loss");
        Model.LlamaFixtureTests.AssertClose(Read("seq_logprob"), expected.ReadFloat64("seq_logprob"), 2e-5, "seq_logprob");
        Assert.That(Read("seq_len"), Is.EqualTo(expected.ReadFloat64("seq_len")));
        var gradients = written.Tensors.Keys.Where(name => name.StartsWith("grad.", StringComparison.Ordinal)).ToList();
        Assert.That(gradients,
            Is.EquivalentTo(expected.Tensors.Keys.Where(n => n.StartsWith($"grad_{objective}.", StringComparison.Ordinal))
                .Select(n => "grad." + n[(n.IndexOf('.') + 1)..])));
        foreach (var name in gradients)
            Model.LlamaFixtureTests.AssertClose(Read(name), expected.ReadFloat64($"grad_{objective}.{name[5..]}"), 2e-5, name);
    }

    [Test]
    public void GenerateStreamsTheGreedyStory()
    {
        using var directory = new TempDirectory();
        var (code, output, _) = Simnpo.Run("generate", "--model", ConvertStories(directory), "--max-new-tokens", "30");
        Assert.That(code, Is.EqualTo(CommandRunner.Success));
        Assert.That(output, Does.StartWith("Once upon a time, there was a little girl named Lily."));
    }

    [Test]
    public void SampledGenerationIsReproducibleForASeed()
    {
        using var directory = new TempDirectory();
        var model = ConvertStories(directory);
        string Sample(string seed)
            => Simnpo.Run("generate", "--model", model, "--prompt", "Tom had", "--temperature", "1", "--top-p", "0.9", "--seed", seed, "--max-new-tokens",
            "30").Output;
        Assert.That(Sample("5"), Is.EqualTo(Sample("5")));
        Assert.That(Sample("5"), Does.StartWith("Tom had"));
        Assert.That(Sample("6"), Is.Not.EqualTo(Sample("5")));
    }

    [Test]
    public void BadUsageAndBadInputHaveDistinctExitCodes()
    {
        var model = Fixture("untied");
        var unknownObjective = Simnpo.Run("grad", "--model", model, "--data", "x.jsonl", "--objective", "dpo", "--out", "x");
        Assert.That(unknownObjective.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(unknownObjective.Error, Does.Contain("simnpo grad --help"));
        var missing = Simnpo.Run("grad", "--model", model, "--data", "/nonexistent/data.jsonl", "--out", "x");
        Assert.That(missing.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(missing.Error, Is.EqualTo("error: /nonexistent/data.jsonl: file not found" + Environment.NewLine));
    }
}
