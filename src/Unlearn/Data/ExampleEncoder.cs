using SimNpo.Model;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Unlearn.Data;

/// <summary>Records to token ids, the way the public TOFU code builds its training examples.</summary>
public sealed class ExampleEncoder(ITextTokenizer tokenizer, PromptTemplate template)
{
    public ITextTokenizer Tokenizer { get; } = tokenizer;

    public PromptTemplate Template { get; } = template;

    public IReadOnlyList<TokenizedExample> Encode(IReadOnlyList<DataRecord> records) => records.Select(Encode).ToArray();

    public TokenizedExample Encode(DataRecord record) => record switch
    {
        QaRecord qa => Encode(qa.Question, qa.Answer),
        PretokenizedRecord pretokenized => pretokenized.Example,
        _ => throw new ArgumentException($"unknown record type {record.GetType().Name}", nameof(record)),
    };

    /// <summary>
    /// BOS + Encode(prompt + answer prefix + answer) + EOS, split after 1 + Encode(prompt).Count tokens; the rest (answer
    /// and EOS) is scored. The full text is encoded in one call on purpose: SentencePiece puts a dummy-prefix space before
    /// the text of every Encode call, so encoding the answer alone would give different tokens from those the model sees
    /// after the prompt. The prompt's own encoding only tells where the answer begins.
    /// </summary>
    public TokenizedExample Encode(string question, string answer)
    {
        int[] full = [Tokenizer.BosId, .. Tokenizer.Encode(Template.FullText(question, answer)), Tokenizer.EosId];
        // A tokenizer that merges across the prompt's end could make the prompt longer than the text before EOS; EOS stays scored.
        var promptCount = Math.Min(EncodePrompt(question).Count, full.Length - 1);
        return new TokenizedExample(full[..promptCount], full[promptCount..]);
    }

    /// <summary>BOS + Encode(prompt): what generation starts from, and what marks the prompt's length in Encode.</summary>
    public IReadOnlyList<int> EncodePrompt(string question) => [Tokenizer.BosId, .. Tokenizer.Encode(Template.Prompt(question))];
}
