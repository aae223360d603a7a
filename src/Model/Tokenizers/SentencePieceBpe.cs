using System.Text;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// SentencePiece's BPE encoding (bpe_model.cc, Model::Encode), written here because Microsoft.ML.Tokenizers breaks ties
/// between equal-scored pairs the other way: SentencePiece merges, among all adjacent pairs whose join is a piece, the
/// one of highest score and, of equal scores, the leftmost ("x......y" is x · ... · .. · y with Llama 2's vocabulary, not
/// x · .. · ... · y). A symbol that is no piece becomes its UTF-8 bytes' &lt;0xXX&gt; pieces when the model has them (byte
/// fallback), else the unknown piece.
/// </summary>
internal sealed class SentencePieceBpe
{
    private readonly Dictionary<string, (int Id, float Score)> pieces = new(StringComparer.Ordinal);
    private readonly int[] byteIds = Enumerable.Repeat(-1, 256).ToArray();
    private readonly int unknownId;
    private readonly bool addDummyPrefix;
    private readonly bool escapeWhitespaces;

    public SentencePieceBpe(SentencePieceModelFile model)
    {
        for (var id = 0; id < model.Pieces.Count; id++)
        {
            var (piece, score, type) = model.Pieces[id];
            switch (type)
            {
                // The pieces merges may reach: SentencePiece's pieces_ (user-defined ones are matched whole before this).
                case SentencePieceType.Normal or SentencePieceType.UserDefined or SentencePieceType.Unused:
                    pieces.TryAdd(piece, (id, score));
                    break;
                case SentencePieceType.Byte:
                    byteIds[Convert.ToInt32(piece[3..5], 16)] = id;
                    break;
                case SentencePieceType.Unknown:
                    unknownId = id;
                    break;
            }
        }
        addDummyPrefix = model.AddDummyPrefix;
        escapeWhitespaces = model.EscapeWhitespaces;
    }

    public List<int> Encode(string text)
    {
        // The identity normalizer: spaces become '▁', and the dummy prefix goes first where the model adds one.
        if (escapeWhitespaces) text = text.Replace(' ', '▁');
        if (addDummyPrefix) text = (escapeWhitespaces ? "▁" : " ") + text;
        var symbols = new List<string>();
        for (var i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
            symbols.Add(text.Substring(i, char.IsSurrogatePair(text, i) ? 2 : 1));
        var next = Enumerable.Range(1, symbols.Count).Select(i => i < symbols.Count ? i : -1).ToArray();
        var previous = Enumerable.Range(-1, symbols.Count).ToArray();
        // Highest score first; of equal scores the leftmost (SentencePiece's SymbolPairComparator).
        var agenda = new PriorityQueue<(int Left, int Right, int Length), (float Score, int Left)>(
            Comparer<(float Score, int Left)>.Create((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));
        void MaybeAdd(int left, int right)
        {
            if (left < 0 || right < 0) return;
            var joined = symbols[left] + symbols[right];
            if (pieces.TryGetValue(joined, out var piece)) agenda.Enqueue((left, right, joined.Length), (piece.Score, left));
        }
        for (var i = 1; i < symbols.Count; i++) MaybeAdd(i - 1, i);
        while (agenda.TryDequeue(out var pair, out _))
        {
            var (left, right) = (symbols[pair.Left], symbols[pair.Right]);
            // An entry made stale by an earlier merge of either side.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != pair.Length) continue;
            symbols[pair.Left] = left + right;
            symbols[pair.Right] = "";
            next[pair.Left] = next[pair.Right];
            if (next[pair.Right] >= 0) previous[next[pair.Right]] = pair.Left;
            MaybeAdd(previous[pair.Left], pair.Left);
            MaybeAdd(pair.Left, next[pair.Left]);
        }
        var ids = new List<int>();
        for (var index = symbols.Count > 0 ? 0 : -1; index >= 0; index = next[index])
        {
            if (pieces.TryGetValue(symbols[index], out var piece)) ids.Add(piece.Id);
            else if (byteIds[0] >= 0) ids.AddRange(Encoding.UTF8.GetBytes(symbols[index]).Select(b => byteIds[b]));
            else ids.Add(unknownId);
        }
        return ids;
    }
}
