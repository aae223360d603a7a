using System.Text;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// Tokens matched whole in the text before the model's own tokenization, as Hugging Face's added tokens are (and as
/// SentencePiece matches its user-defined pieces): at each position the longest such token that starts there is taken,
/// scanning from the left, becomes its one id, and the text between two of them is tokenized on its own. This is how a
/// chat template's &lt;|im_start|&gt;, &lt;|eot_id|&gt; or &lt;start_of_turn&gt; become single ids.
/// </summary>
public sealed class AddedTokens
{
    private readonly Dictionary<string, int> ids;
    private readonly Dictionary<int, string> texts;
    private readonly Dictionary<char, string[]> byFirstChar;

    public AddedTokens(IReadOnlyDictionary<string, int> tokens)
    {
        ids = tokens.Where(pair => pair.Key.Length > 0).ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal);
        // Two texts for one id would make decoding ambiguous; the first wins, as the later entry only aliases it.
        texts = [];
        foreach (var (text, id) in ids) texts.TryAdd(id, text);
        byFirstChar = ids.Keys.GroupBy(text => text[0]).ToDictionary(group => group.Key, group => group.OrderByDescending(text => text.Length).ToArray());
    }

    public static AddedTokens None { get; } = new(new Dictionary<string, int>());

    public IEnumerable<int> Ids => texts.Keys;

    public int? IdOf(string text) => ids.TryGetValue(text, out var id) ? id : null;

    public bool Contains(int id) => texts.ContainsKey(id);

    /// <summary>The added tokens as their ids, the text between them through encodeSegment (never called with an empty string).</summary>
    public List<int> Encode(string text, Func<string, IEnumerable<int>> encodeSegment)
    {
        var result = new List<int>();
        var segmentStart = 0;
        var position = 0;
        while (position < text.Length)
        {
            var token = LongestAt(text, position);
            if (token is null)
            {
                position++;
                continue;
            }
            if (position > segmentStart) result.AddRange(encodeSegment(text[segmentStart..position]));
            result.Add(ids[token]);
            position += token.Length;
            segmentStart = position;
        }
        if (segmentStart < text.Length) result.AddRange(encodeSegment(text[segmentStart..]));
        return result;
    }

    /// <summary>Each added token's id as its text (or what decodeAdded makes of it); each run of other ids through decodeRun.</summary>
    public string Decode(IEnumerable<int> tokenIds, Func<List<int>, string> decodeRun, Func<int, string, string>? decodeAdded = null)
    {
        var text = new StringBuilder();
        var run = new List<int>();
        foreach (var id in tokenIds)
        {
            if (!texts.TryGetValue(id, out var added))
            {
                run.Add(id);
                continue;
            }
            if (run.Count > 0) text.Append(decodeRun(run));
            run = [];
            text.Append(decodeAdded is null ? added : decodeAdded(id, added));
        }
        if (run.Count > 0) text.Append(decodeRun(run));
        return text.ToString();
    }

    private string? LongestAt(string text, int position)
    {
        if (!byFirstChar.TryGetValue(text[position], out var candidates)) return null;
        foreach (var candidate in candidates)
            if (position + candidate.Length <= text.Length && string.CompareOrdinal(text, position, candidate, 0, candidate.Length) == 0)
                return candidate;
        return null;
    }
}
