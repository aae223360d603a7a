using SimNpo.Cli;
using SimNpo.Tests.Cli;

namespace SimNpo.Tests.Conversion;

public class ConvertCommandTests
{
    [Test]
    public void ConvertsStories260KAndSaysWhatItWrote()
    {
        var (checkpoint, tokenizer) = (Stories260K.Checkpoint, Stories260K.Vocabulary);
        using var directory = new TempDirectory();
        var (code, output, _) = Simnpo.Run("convert", "llama2c", "--checkpoint", checkpoint, "--tokenizer", tokenizer, "--out", directory.Path);
        Assert.That(code, Is.EqualTo(CommandRunner.Success));
        Assert.That(output, Does.Contain("5 layers, dim 64, 8 heads (4 kv), vocab 512, tied"));
        foreach (var name in new[] { "config.json", "model.safetensors", "tokenizer.model" })
        {
            Assert.That(output, Does.Contain($"wrote {directory.File(name)}"));
            Assert.That(File.Exists(directory.File(name)), name);
        }
    }

    [Test]
    public void ABadCheckpointFailsWithOneLineNamingIt()
    {
        using var directory = new TempDirectory();
        File.WriteAllBytes(directory.File("model.bin"), new byte[3]);
        File.WriteAllBytes(directory.File("tok.bin"), new byte[3]);
        var (code, _, error) = Simnpo.Run("convert", "llama2c", "--checkpoint", directory.File("model.bin"), "--tokenizer", directory.File("tok.bin"), "--out",
            directory.File("out"));
        Assert.That(code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(error,
            Is.EqualTo($"error: {directory.File("model.bin")}: 3 bytes is too short for a llama2.c checkpoint (the header alone is 28)" + Environment.NewLine));
    }
}
