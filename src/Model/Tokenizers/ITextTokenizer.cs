namespace SimNpo.Model.Tokenizers;

/// <summary>
/// Text to token ids and back. Encode adds no BOS or EOS: callers (the chat template) place them. Special and added
/// tokens written in the text (a template's &lt;|im_start|&gt;) are matched whole and become their single ids.
/// </summary>
public interface ITextTokenizer
{
    int VocabSize { get; }

    int BosId { get; }

    int EosId { get; }

    IReadOnlyList<int> Encode(string text);

    string Decode(IEnumerable<int> ids);

    /// <summary>The id of the one token whose text is exactly this (a special, added or vocabulary token); null when there is none.</summary>
    int? TokenId(string token);
}
