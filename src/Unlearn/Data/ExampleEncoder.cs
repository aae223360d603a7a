using SimNpo.Model;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Unlearn.Data;

/// <summary>Records to token ids, the way the public TOFU code builds its training examples, with the chat template's BOS and end.</summary>
public sealed class ExampleEncoder
{
    public ExampleEncoder(ITextTokenizer tokenizer, PromptTemplate template)
    {
        Tokenizer = tokenizer;
        Template = template;
        EndId = template.EndToken is null ? tokenizer.EosId
            : tokenizer.TokenId(template.EndToken) ?? throw new ArgumentException(
                $"the chat template '{template.Name}' ends an answer with {template.EndToken}, which the model's tokenizer does not have; "
                + $"choose another --chat-template (one of {string.Join(", ", ChatTemplates.Names)})");
    }

    public ITextTokenizer Tokenizer { get; }

    public PromptTemplate Template { get; }

    /// <summary>The id that ends every answer: the template's end-of-turn token, or the tokenizer's EOS.</summary>
    public int EndId { get; }

    public IReadOnlyList<TokenizedExample> Encode(IReadOnlyList<DataRecord> records) => records.Select(Encode).ToArray();

    public TokenizedExample Encode(DataRecord record) => record switch
    {
        QaRecord qa => Encode(qa.Question, qa.Answer),
        PretokenizedRecord pretokenized => pretokenized.Example,
        _ => throw new ArgumentException($"unknown record type {record.GetType().Name}", nameof(record)),
    };

    /// <summary>
    /// [BOS] + Encode(prompt + answer prefix + answer) + end, split after the prompt's own ids; the rest (answer and end)
    /// is scored. The full text is encoded in one call on purpose: SentencePiece puts a dummy-prefix space before the
    /// text of every Encode call, so encoding the answer alone would give different tokens from those the model sees
    /// after the prompt. The prompt's own encoding only tells where the answer begins.
    /// </summary>
    public TokenizedExample Encode(string question, string answer)
    {
        int[] full = [.. Start, .. Tokenizer.Encode(Template.FullText(question, answer)), EndId];
        // A tokenizer that merges across the prompt's end could make the prompt longer than the text before the end; the end stays scored.
        var promptCount = Math.Min(EncodePrompt(question).Count, full.Length - 1);
        return new TokenizedExample(full[..promptCount], full[promptCount..]);
    }

    /// <summary>[BOS] + Encode(prompt): what generation starts from, and what marks the prompt's length in Encode.</summary>
    public IReadOnlyList<int> EncodePrompt(string question) => [.. Start, .. Tokenizer.Encode(Template.Prompt(question))];

    private int[] Start => Template.AddsBos ? [Tokenizer.BosId] : [];
}
