using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Tests.Tokenizers;

public class TokenizerLoaderTests
{
    private static LlamaConfig Config(int vocabSize, int bos = 1, int eos = 2) => new()
    {
        HiddenSize = 64, IntermediateSize = 172, NumHiddenLayers = 1, NumAttentionHeads = 8, NumKeyValueHeads = 4, HeadDim = 8,
        VocabSize = vocabSize, BosTokenId = bos, EosTokenId = eos,
    };

    [Test]
    public void PicksSentencePieceWhenTokenizerModelIsPresent()
    {
        var directory = Path.GetDirectoryName(SharedFiles.Require("tokenizers/llama2/tokenizer.model"))!;
        var tokenizer = TokenizerLoader.Load(directory, Config(32000));
        Assert.That(tokenizer, Is.TypeOf<SentencePieceTextTokenizer>());
        Assert.That(tokenizer.Encode("Hello world"), Is.EqualTo(new[] { 15043, 3186 }));
    }

    [Test]
    public void PrefersTokenizerJsonToVocabAndMergesAndTakesBosEosFromConfig()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(directory.File("vocab.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2}");
        File.WriteAllLines(directory.File("merges.txt"), ["#version: 0.2", "a b"]);
        var fromFiles = TokenizerLoader.Load(directory.Path, Config(8, bos: 0, eos: 1));
        Assert.That(fromFiles.Encode("ab"), Is.EqualTo(new[] { 2 }));
        Assert.That((fromFiles.BosId, fromFiles.EosId), Is.EqualTo((0, 1)));

        // The same vocabulary without the merge: if tokenizer.json is read, "ab" stays two tokens.
        File.WriteAllText(directory.File("tokenizer.json"),
            "{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": []}}");
        var fromJson = TokenizerLoader.Load(directory.Path, Config(8, bos: 2, eos: 0));
        Assert.That(fromJson.Encode("ab"), Is.EqualTo(new[] { 0, 1 }));
        Assert.That((fromJson.BosId, fromJson.EosId), Is.EqualTo((2, 0)));
    }

    [Test]
    public void RefusesADirectoryWithoutATokenizer()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(directory.File("vocab.json"), "{}");
        var error = Assert.Throws<BadInputException>(() => TokenizerLoader.Load(directory.Path, Config(8)))!;
        Assert.That(error.File, Is.EqualTo(directory.Path));
        Assert.That(error.Problem, Does.Contain("no tokenizer found"));
    }

    [Test]
    public void RefusesATokenizerLargerThanTheModelVocabulary()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(directory.File("vocab.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2}");
        File.WriteAllLines(directory.File("merges.txt"), ["a b"]);
        var error = Assert.Throws<BadInputException>(() => TokenizerLoader.Load(directory.Path, Config(2, bos: 0, eos: 1)))!;
        Assert.That(error.Problem, Does.Contain("the tokenizer has 3 tokens but config vocab_size is 2"));
    }
}
