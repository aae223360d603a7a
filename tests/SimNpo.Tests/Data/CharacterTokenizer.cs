using SimNpo.Model.Tokenizers;

namespace SimNpo.Tests.Data;

/// <summary>
/// A test tokenizer with SentencePiece's habit that matters here: every Encode call puts a dummy-prefix space before its
/// text. One token per printable ASCII character: id = 3 + (c - ' '), so ' ' = 3, 'A' = 36; 0 = unknown, BOS 1, EOS 2.
/// </summary>
public sealed class CharacterTokenizer : ITextTokenizer
{
    public int VocabSize => 3 + 95;

    public int BosId => 1;

    public int EosId => 2;

    public IReadOnlyList<int> Encode(string text) => (" " + text).Select(Id).ToArray();

    public string Decode(IEnumerable<int> ids) => new(ids.Where(id => id >= 3).Select(id => (char)(id - 3 + ' ')).ToArray());

    /// <summary>Only single printable characters are tokens.</summary>
    public int? TokenId(string token) => token.Length == 1 && token[0] is >= ' ' and <= '~' ? Id(token[0]) : null;

    public static int Id(char c) =>
        c is >= ' ' and <= '~' ? 3 + (c - ' ') : throw new ArgumentException($"'{c}' is not printable ASCII");

    /// <summary>The ids of text without the dummy prefix, to write expected values.</summary>
    public static int[] Ids(string text) => text.Select(Id).ToArray();
}
