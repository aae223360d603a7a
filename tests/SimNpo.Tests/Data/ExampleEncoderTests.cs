using System.Text.Json.Nodes;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Data;

namespace SimNpo.Tests.Data;

public class ExampleEncoderTests
{
    private static readonly ExampleEncoder Llama2 = new(new CharacterTokenizer(), PromptTemplate.Llama2Chat);

    [Test]
    public void ExactIdsForASmallTemplate()
    {
        // Full text "Q:xA:y", encoded with its dummy prefix as " Q:xA:y": ' ' 3, 'Q' 52, ':' 29, 'x' 91, 'A' 36, 'y' 92.
        // The prompt "Q:x" encodes to 4 ids, so BOS + 4 ids are the prompt; the rest and EOS are scored.
        var encoder = new ExampleEncoder(new CharacterTokenizer(), new PromptTemplate("Q:{question}", "A:"));
        var example = encoder.Encode(new QaRecord("x", "y"));
        Assert.That(example.PromptIds, Is.EqualTo(new[] { 1, 3, 52, 29, 91 }));
        Assert.That(example.AnswerIds, Is.EqualTo(new[] { 36, 29, 92, 2 }));
    }

    [Test]
    public void Llama2ChatPlacesBosPromptAnswerAndEos()
    {
        var example = Llama2.Encode("Who wrote it?", "Jane Doe.");
        int[] expectedPrompt = [1, .. CharacterTokenizer.Ids(" [INST] Who wrote it? [/INST]")];
        int[] expectedAnswer = [.. CharacterTokenizer.Ids("Jane Doe."), 2];
        Assert.That(example.PromptIds, Is.EqualTo(expectedPrompt));
        Assert.That(example.AnswerIds, Is.EqualTo(expectedAnswer));
        Assert.That(Llama2.EncodePrompt("Who wrote it?"), Is.EqualTo(expectedPrompt));
        // The answer encoded on its own call would get a second dummy-prefix space: not the tokens the model sees.
        Assert.That(Llama2.Tokenizer.Encode("Jane Doe."), Is.Not.EqualTo(expectedAnswer[..^1]));
    }

    /// <summary>The official template's ids from Google's SentencePiece (tools/fixtures/llama2_tokenizer_ids.py, template_cases).</summary>
    private static IEnumerable<TestCaseData> OfficialTemplateCases()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Tokenizers", "llama2_ids.json")))!;
        int[] Ids(JsonNode item, string key) => [.. item[key]!.AsArray().Select(id => id!.GetValue<int>())];
        foreach (var item in json["template_cases"]!.AsArray())
            yield return new TestCaseData(item!["question"]!.GetValue<string>(), item["answer"]!.GetValue<string>(), Ids(item, "ids"), Ids(item, "prompt_ids"));
    }

    /// <summary>
    /// The Llama-2 tokenizer on the official TOFU template: BOS, "[INST] q [/INST]" and the answer straight after "]",
    /// so an answer "The ..." starts with 'The' (1576), not '▁The' (450) as with a space before it; EOS is scored.
    /// </summary>
    [TestCaseSource(nameof(OfficialTemplateCases))]
    public void Llama2TokenizerGivesTheOfficialTemplatesIds(string question, string answer, int[] ids, int[] promptIds)
    {
        var encoder = new ExampleEncoder(SentencePieceTextTokenizer.Load(SharedFiles.Require("tokenizers/llama2/tokenizer.model")), PromptTemplate.Llama2Chat);
        var example = encoder.Encode(question, answer);
        Assert.That(example.PromptIds, Is.EqualTo(new[] { 1 }.Concat(promptIds)));
        Assert.That(example.AnswerIds, Is.EqualTo(ids[promptIds.Length..].Append(2)));
        Assert.That(example.AnswerIds[0], Is.EqualTo(1576), "'The' glued to ']'");
    }

    [Test]
    public void EveryAnswerTokenAndEosIsScoredInABatch()
    {
        var examples = Llama2.Encode([new QaRecord("a?", "b."), new QaRecord("longer question?", "c")]);
        var batch = TokenBatch.FromExamples(examples);
        Assert.That(batch.ScoredCounts(), Is.EqualTo(new[] { examples[0].AnswerIds.Count, examples[1].AnswerIds.Count }));
        Assert.That(examples[1].AnswerIds, Is.EqualTo(new[] { CharacterTokenizer.Id('c'), 2 }));
    }

    [Test]
    public void PretokenizedRecordsAreTakenAsTheyAre()
    {
        var example = new TokenizedExample([5, 6], [7]);
        var encoded = Llama2.Encode([new QaRecord("q", "a"), new PretokenizedRecord(example)]);
        Assert.That(encoded[1], Is.SameAs(example));
        Assert.That(encoded[0].PromptIds[0], Is.EqualTo(1));
    }

    [Test]
    public void EosStaysScoredWhenTheTokenizerMergesAcrossThePrompt()
    {
        var encoder = new ExampleEncoder(new OneTokenTokenizer(), PromptTemplate.Llama2Chat);
        var example = encoder.Encode("q", "a");
        Assert.That(example.PromptIds, Is.EqualTo(new[] { 1, 3 }));
        Assert.That(example.AnswerIds, Is.EqualTo(new[] { 2 }));
    }

    /// <summary>Any text is one token: the prompt alone is as long as prompt and answer together.</summary>
    private sealed class OneTokenTokenizer : ITextTokenizer
    {
        public int VocabSize => 4;
        public int BosId => 1;
        public int EosId => 2;
        public IReadOnlyList<int> Encode(string text) => [3];
        public string Decode(IEnumerable<int> ids) => "";
        public int? TokenId(string token) => null;
    }
}
