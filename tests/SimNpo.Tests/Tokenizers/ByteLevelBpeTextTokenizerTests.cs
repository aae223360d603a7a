using System.Text.Json.Nodes;
using SimNpo.Model.IO;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Tests.Tokenizers;

/// <summary>
/// A vocabulary small enough to apply the merges by hand. Byte-level BPE maps a space to 'Ġ' and the UTF-8 bytes of
/// 'é' (C3 A9) to 'Ã' and '©'.
/// </summary>
public class ByteLevelBpeTextTokenizerTests
{
    private static readonly string[] Tokens = ["a", "b", "Ġ", "Ã", "©", "ab", "Ġa", "Ġab", "Ã©", "1", "2", "3", "4", "34", "12", "123"];

    // By rank: "a b" before "Ġ a" means " ab" first becomes Ġ + ab, then Ġab; "3 4" before "1 2" decides "1234".
    private static readonly string[] Merges = ["a b", "Ġ a", "Ġ ab", "Ã ©", "3 4", "1 2", "12 3"];

    /// <summary>Llama 3's split: unlike GPT-2's, digits go in groups of at most three.</summary>
    private const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static JsonObject Vocabulary() => new(Tokens.Select((token, id) => KeyValuePair.Create(token, (JsonNode?)id)));

    private static ByteLevelBpeTextTokenizer FromVocabAndMerges(TempDirectory directory)
    {
        File.WriteAllText(directory.File("vocab.json"), Vocabulary().ToJsonString());
        File.WriteAllLines(directory.File("merges.txt"), ["#version: 0.2", .. Merges]);
        return ByteLevelBpeTextTokenizer.FromVocabAndMerges(directory.File("vocab.json"), directory.File("merges.txt"), bosId: 0, eosId: 1);
    }

    private static JsonObject TokenizerJson(JsonNode preTokenizer) => new()
    {
        ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 20, ["content"] = "<|eot|>", ["special"] = true }),
        ["normalizer"] = null,
        ["pre_tokenizer"] = preTokenizer,
        ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = Vocabulary(), ["merges"] = new JsonArray(Merges.Select(m => (JsonNode?)m).ToArray()) },
    };

    private static JsonObject Llama3PreTokenizer() => new()
    {
        ["type"] = "Sequence",
        ["pretokenizers"] = new JsonArray(
            new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Llama3Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
            new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
    };

    private static ByteLevelBpeTextTokenizer FromTokenizerJson(TempDirectory directory, JsonObject json)
    {
        File.WriteAllText(directory.File("tokenizer.json"), json.ToJsonString());
        return ByteLevelBpeTextTokenizer.FromTokenizerJson(directory.File("tokenizer.json"), bosId: 0, eosId: 1);
    }

    [Test]
    public void VocabAndMergesEncodeSpacesAndNonAsciiByRank()
    {
        using var directory = new TempDirectory();
        var tokenizer = FromVocabAndMerges(directory);
        // GPT-2 split: "ab" | " ab" | " é" | " a" ; " é" has no merge of Ġ with Ã©, so it stays Ġ + Ã©.
        Assert.That(tokenizer.Encode("ab ab é a"), Is.EqualTo(new[] { 5, 7, 2, 8, 6 }));
        // Two spaces: the first stands alone (\s+(?!\S)), the second leads "b".
        Assert.That(tokenizer.Encode("a  b"), Is.EqualTo(new[] { 0, 2, 2, 1 }));
        // One piece "1234": 3+4 (rank 4) before 1+2 (rank 5); no merge joins 12 and 34.
        Assert.That(tokenizer.Encode("1234"), Is.EqualTo(new[] { 14, 13 }));
        Assert.That(tokenizer.Decode([5, 7, 2, 8, 6]), Is.EqualTo("ab ab é a"));
        Assert.That(tokenizer.Decode([0, 2, 2, 1]), Is.EqualTo("a  b"));
        Assert.That((tokenizer.VocabSize, tokenizer.BosId, tokenizer.EosId), Is.EqualTo((16, 0, 1)));
    }

    [Test]
    public void TokenizerJsonWithGpt2ByteLevelMatchesVocabAndMerges()
    {
        using var directory = new TempDirectory();
        var tokenizer = FromTokenizerJson(directory, TokenizerJson(new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false }));
        Assert.That(tokenizer.Encode("ab ab é a"), Is.EqualTo(new[] { 5, 7, 2, 8, 6 }));
        Assert.That(tokenizer.Encode("1234"), Is.EqualTo(new[] { 14, 13 }));
        // An added token is matched whole in the text and counts toward the vocabulary size.
        Assert.That(tokenizer.Encode("ab<|eot|>"), Is.EqualTo(new[] { 5, 20 }));
        Assert.That(tokenizer.VocabSize, Is.EqualTo(21));
    }

    [Test]
    public void TokenizerJsonWithLlama3SplitGroupsDigitsByThree()
    {
        using var directory = new TempDirectory();
        var json = TokenizerJson(Llama3PreTokenizer());
        // Newer tokenizers write merges as pairs.
        json["model"]!["merges"] = new JsonArray(Merges.Select(m => (JsonNode?)new JsonArray(m.Split(' ').Select(p => (JsonNode?)p).ToArray())).ToArray());
        var tokenizer = FromTokenizerJson(directory, json);
        Assert.That(tokenizer.Encode("ab ab é a"), Is.EqualTo(new[] { 5, 7, 2, 8, 6 }));
        // "123" | "4": 1+2, then 12+3.
        Assert.That(tokenizer.Encode("1234"), Is.EqualTo(new[] { 15, 12 }));
        Assert.That(tokenizer.Decode([15, 12, 2, 8]), Is.EqualTo("1234 é"));
    }

    [TestCase("{\"type\":\"WordPiece\",\"vocab\":{}}", null, "model.type 'WordPiece' is not supported")]
    [TestCase(null, "{\"type\":\"Metaspace\"}", "is not supported")]
    [TestCase(null, "{\"type\":\"ByteLevel\",\"add_prefix_space\":true}", "add_prefix_space")]
    [TestCase("{\"type\":\"BPE\",\"vocab\":{\"a\":\"zero\"},\"merges\":[]}", null, "token 'a' has id \"zero\"")]
    [TestCase("{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a b c\"]}", null, "merge 'a b c'")]
    public void RefusesWhatItDoesNotImplement(string? model, string? preTokenizer, string expected)
    {
        using var directory = new TempDirectory();
        var json = TokenizerJson(preTokenizer is null ? new JsonObject { ["type"] = "ByteLevel" } : JsonNode.Parse(preTokenizer)!);
        if (model is not null) json["model"] = JsonNode.Parse(model);
        var error = Assert.Throws<BadInputException>(() => FromTokenizerJson(directory, json))!;
        Assert.That(error.File, Is.EqualTo(directory.File("tokenizer.json")));
        Assert.That(error.Problem, Does.Contain(expected));
    }

    [Test]
    public void RefusesMalformedVocabJson()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(directory.File("vocab.json"), "{\"a\": 0,");
        File.WriteAllLines(directory.File("merges.txt"), Merges);
        var error = Assert.Throws<BadInputException>(() =>
            ByteLevelBpeTextTokenizer.FromVocabAndMerges(directory.File("vocab.json"), directory.File("merges.txt"), 0, 1))!;
        Assert.That(error.Message, Does.StartWith(directory.File("vocab.json") + ": not valid JSON"));
    }
}
