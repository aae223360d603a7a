using System.Text.Json.Nodes;
using SimNpo.Model.IO;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Tests.Tokenizers;

public class SentencePieceTextTokenizerTests
{
    private static SentencePieceTextTokenizer Llama2() =>
        SentencePieceTextTokenizer.Load(SharedFiles.Require("tokenizers/llama2/tokenizer.model"));

    /// <summary>Ids from Google's SentencePiece on the same model (tools/fixtures/llama2_tokenizer_ids.py).</summary>
    private static IEnumerable<TestCaseData> ReferenceCases()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Tokenizers", "llama2_ids.json")))!;
        foreach (var item in json["cases"]!.AsArray())
            yield return new TestCaseData(item!["text"]!.GetValue<string>(), item["ids"]!.AsArray().Select(id => id!.GetValue<int>()).ToArray());
    }

    [TestCaseSource(nameof(ReferenceCases))]
    public void EncodesAsSentencePieceDoes(string text, int[] expected)
    {
        var tokenizer = Llama2();
        Assert.That(tokenizer.Encode(text), Is.EqualTo(expected));
        Assert.That(tokenizer.Decode(expected), Is.EqualTo(text));
    }

    [Test]
    public void HelloWorldIsLlamasWellKnownEncodingWithoutSpecialTokens()
    {
        var tokenizer = Llama2();
        // The dummy prefix makes "Hello" the word-initial "▁Hello" (15043); no BOS (1) or EOS (2) is added.
        Assert.That(tokenizer.Encode("Hello world"), Is.EqualTo(new[] { 15043, 3186 }));
        Assert.That((tokenizer.VocabSize, tokenizer.BosId, tokenizer.EosId), Is.EqualTo((32000, 1, 2)));
        Assert.That(tokenizer.Decode([1, 15043, 3186, 2]), Is.EqualTo("Hello world"), "BOS and EOS decode to nothing");
    }

    [Test]
    public void RefusesAFileThatIsNotAModel()
    {
        using var directory = new TempDirectory();
        var path = directory.File("tokenizer.model");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0x01, 0x02]);
        var error = Assert.Throws<BadInputException>(() => SentencePieceTextTokenizer.Load(path))!;
        Assert.That(error.File, Is.EqualTo(path));
    }
}
