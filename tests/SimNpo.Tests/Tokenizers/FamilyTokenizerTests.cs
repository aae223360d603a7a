using System.Text.Json.Nodes;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Data;

namespace SimNpo.Tests.Tokenizers;

/// <summary>
/// Small tokenizers in each family's real file format (tools/fixtures/make_tokenizer_fixtures.py): Llama 3's and
/// Qwen2's tokenizer.json, Phi's vocab.json + merges.txt + added_tokens.json and its tokenizer.json, Gemma's and
/// Mistral's tokenizer.model. Each text's ids are the reference's (an independent byte-level BPE, or Google's
/// SentencePiece), and each family's chat template gives the reference's prompt and answer ids.
/// </summary>
public class FamilyTokenizerTests
{
    private static string Folder(string family) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Tokenizers", family);

    private static JsonNode Expected(string family) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(family == "phi-json" ? "phi" : family), "expected.json")))!;

    private static int[] Ids(JsonNode? list) => list!.AsArray().Select(id => id!.GetValue<int>()).ToArray();

    /// <summary>The tokenizer as a model directory gives it: BOS and EOS from config.json, as the families' configs name them.</summary>
    private static ITextTokenizer Load(string family)
    {
        var expected = Expected(family);
        var config = LlamaConfig.Shaped(8, 16, 1, 1, 1, 8, expected["vocab_size"]!.GetValue<int>(), 64) with
        {
            BosTokenId = expected["bos"]!.GetValue<int>(), EosTokenId = expected["eos"]!.GetValue<int>(),
        };
        return TokenizerLoader.Load(Folder(family), config);
    }

    private static readonly string[] Families = ["llama3", "qwen2", "phi", "phi-json", "gemma", "mistral"];

    private static IEnumerable<TestCaseData> TextCases() =>
        from family in Families
        from item in Expected(family)["cases"]!.AsArray()
        select new TestCaseData(family, item!["text"]!.GetValue<string>(), Ids(item["ids"]), item["decoded"]!.GetValue<string>())
            .SetArgDisplayNames(family, item["text"]!.GetValue<string>()[..Math.Min(24, item["text"]!.GetValue<string>().Length)]);

    [TestCaseSource(nameof(TextCases))]
    public void EncodesAsTheReferenceDoes(string family, string text, int[] ids, string decoded)
    {
        var tokenizer = Load(family);
        Assert.That(tokenizer.Encode(text), Is.EqualTo(ids));
        Assert.That(tokenizer.Decode(ids), Is.EqualTo(decoded));
    }

    private static IEnumerable<TestCaseData> TemplateCases() =>
        from family in Families
        let expected = Expected(family)
        from item in expected["template_cases"]!.AsArray()
        select new TestCaseData(family, expected["template"]!.GetValue<string>(), item!["question"]!.GetValue<string>(),
            item["answer"]!.GetValue<string>(), Ids(item["prompt_ids"]), Ids(item["answer_ids"]))
            .SetArgDisplayNames(family, item["question"]!.GetValue<string>()[..12]);

    /// <summary>Each family's template on exact ids: its tags as single special tokens, its BOS or none, its end-of-turn token.</summary>
    [TestCaseSource(nameof(TemplateCases))]
    public void TheFamilysTemplateGivesTheReferenceIds(string family, string template, string question, string answer, int[] promptIds, int[] answerIds)
    {
        var example = new ExampleEncoder(Load(family), ChatTemplates.Find(template)!).Encode(question, answer);
        Assert.That(example.PromptIds, Is.EqualTo(promptIds));
        Assert.That(example.AnswerIds, Is.EqualTo(answerIds));
    }

    [Test]
    public void SpecialTokensAreSingleIds()
    {
        Assert.That(Load("llama3").Encode("<|eot_id|><|start_header_id|>"), Is.EqualTo(new[] { 552, 549 }));
        Assert.That(Load("llama3").TokenId("<|begin_of_text|>"), Is.EqualTo(543));
        Assert.That(Load("qwen2").Encode("<|im_start|><|im_end|>"), Is.EqualTo(new[] { 523, 524 }));
        Assert.That(Load("gemma").TokenId("<end_of_turn>"), Is.Not.Null);
        Assert.That(Load("gemma").Encode("<start_of_turn>"), Is.EqualTo(new[] { Load("gemma").TokenId("<start_of_turn>")!.Value }));
        Assert.That(Load("qwen2").TokenId("<|begin_of_text|>"), Is.Null);
    }

    /// <summary>Gemma's tokenizer.model says add_dummy_prefix = false, Mistral's (Llama's) true; the tokenizer follows the file.</summary>
    [Test]
    public void TheSentencePieceNormalizerSpecIsHonoured()
    {
        var gemma = (SentencePieceTextTokenizer)Load("gemma");
        var mistral = (SentencePieceTextTokenizer)Load("mistral");
        Assert.That((gemma.AddsDummyPrefix, mistral.AddsDummyPrefix), Is.EqualTo((false, true)));
        Assert.That(gemma.Decode(gemma.Encode(" leading space")), Is.EqualTo(" leading space"));
    }

    /// <summary>A template whose end token the tokenizer lacks is refused when the encoder is made, naming the token and the choices.</summary>
    [Test]
    public void AnEndTokenTheTokenizerLacksIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => new ExampleEncoder(Load("phi"), ChatTemplates.ChatMl))!;
        Assert.That(error.Message, Does.Contain("'chatml' ends an answer with <|im_end|>").And.Contain("llama2, llama3, zephyr, chatml, phi, gemma, none"));
    }
}
