using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Tests.Model;

namespace SimNpo.Tests.Tokenizers;

/// <summary>Phi's config.json gives bos/eos ids as null: they come from tokenizer_config.json's tokens, as transformers' tokenizer has them.</summary>
public class NullSpecialTokenIdsTests
{
    /// <summary>The Phi fixture's config (bos_token_id and eos_token_id null) beside a GPT-2-style vocabulary whose &lt;|endoftext|&gt; is 5.</summary>
    private static TempDirectory PhiDirectory(string tokenizerConfig)
    {
        var directory = new TempDirectory();
        File.Copy(Path.Combine(FamilyFixtureTests.Directory("phi"), ModelFiles.ConfigFileName), directory.File(ModelFiles.ConfigFileName));
        File.WriteAllText(directory.File("vocab.json"), "{\"a\": 0, \"b\": 1, \"\\\"\": 2, \"#\": 3, \"ab\": 4, \"<|endoftext|>\": 5}");
        File.WriteAllLines(directory.File("merges.txt"), ["#version: 0.2", "a b"]);
        File.WriteAllText(directory.File("tokenizer_config.json"), tokenizerConfig);
        return directory;
    }

    [Test]
    public void NullIdsAreTheTokenizersEndOfText()
    {
        using var directory = PhiDirectory("{\"bos_token\": \"<|endoftext|>\", \"eos_token\": {\"content\": \"<|endoftext|>\", \"special\": true}}");
        var config = ModelFiles.LoadConfig(directory.Path);
        Assert.That((config.BosTokenId, config.EosTokenId), Is.EqualTo((5, 5)));
    }

    [Test]
    public void WithoutATokenizerTheConfigFallbacksStay()
    {
        var config = ModelFiles.LoadConfig(FamilyFixtureTests.Directory("phi"));
        Assert.That((config.BosTokenId, config.EosTokenId), Is.EqualTo((1, 2)));
    }

    [Test]
    public void IdsTheConfigGivesAreKept()
    {
        using var directory = PhiDirectory("{\"bos_token\": \"<|endoftext|>\", \"eos_token\": \"<|endoftext|>\"}");
        var path = directory.File(ModelFiles.ConfigFileName);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"eos_token_id\": null", "\"eos_token_id\": 4"));
        var config = ModelFiles.LoadConfig(directory.Path);
        Assert.That((config.BosTokenId, config.EosTokenId), Is.EqualTo((5, 4)));
    }

    [Test]
    public void AnUnknownTokenIsAClearError()
    {
        using var directory = PhiDirectory("{\"eos_token\": \"</s>\"}");
        var error = Assert.Throws<BadInputException>(() => ModelFiles.LoadConfig(directory.Path))!;
        Assert.That(error.File, Is.EqualTo(directory.File("tokenizer_config.json")));
        Assert.That(error.Problem, Does.Contain("'eos_token' </s> is not a token of the model's tokenizer"));
    }
}
