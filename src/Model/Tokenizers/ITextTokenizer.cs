namespace SimNpo.Model.Tokenizers;

/// <summary>Text to token ids and back. Encode adds no special tokens: callers place BOS and EOS themselves.</summary>
public interface ITextTokenizer
{
    int VocabSize { get; }

    int BosId { get; }

    int EosId { get; }

    IReadOnlyList<int> Encode(string text);

    string Decode(IEnumerable<int> ids);
}
