using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using SimNpo.Model.IO;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// Fits a byte-level BPE vocabulary to a corpus, since Microsoft.ML.Tokenizers can read one but not train one. Text is
/// split with the GPT-2 regex that ByteLevelBpeTextTokenizer splits with, every piece starts as its UTF-8 bytes, and the
/// most frequent adjacent pair is merged until the vocabulary has the requested size. Ties go to the ordinally smallest
/// pair (left symbol, then right), and counts do not depend on the order of the texts, so the result is a function of
/// the texts as a multiset: the same corpus gives the same files on every machine.
/// </summary>
public static class BpeTrainer
{
    /// <summary>Padding (TokenBatch pads with id 0); byte-level BPE covers every byte, so no unknown token is needed.</summary>
    public const string PadToken = "<pad>";
    public const string BosToken = "<s>";
    public const string EosToken = "</s>";

    /// <summary>The Llama convention for the ids of BOS and EOS, which LlamaConfig also defaults to.</summary>
    public const int PadId = 0;
    public const int BosId = 1;
    public const int EosId = 2;

    private static readonly string[] SpecialTokens = [PadToken, BosToken, EosToken];

    /// <summary>The special tokens and the 256 byte symbols: the vocabulary before any merge.</summary>
    public static int MinimumVocabSize => SpecialTokens.Length + 256;

    /// <summary>
    /// Merges until the vocabulary holds vocabSize tokens, or fewer when every piece of the corpus is already one token.
    /// </summary>
    public static TrainedBpe Train(IEnumerable<string> texts, int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, MinimumVocabSize);
        var tokens = new List<string>(SpecialTokens);
        tokens.AddRange(Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.Symbol((byte)b).ToString()));
        var ids = tokens.Select((token, id) => (token, id)).ToDictionary(pair => pair.token, pair => pair.id, StringComparer.Ordinal);
        var words = CountWords(texts).Select(pair => (Symbols: pair.Key.Select(symbol => ids[symbol.ToString()]).ToList(), Count: pair.Value)).ToList();
        var merges = new List<(string Left, string Right)>();
        while (tokens.Count < vocabSize)
        {
            var pairCounts = new Dictionary<(int Left, int Right), long>();
            foreach (var (symbols, count) in words)
                for (var i = 0; i + 1 < symbols.Count; i++)
                    pairCounts[(symbols[i], symbols[i + 1])] = pairCounts.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
            if (pairCounts.Count == 0) break;
            var best = pairCounts.First();
            foreach (var candidate in pairCounts)
                if (candidate.Value > best.Value || candidate.Value == best.Value && ComparePairs(tokens, candidate.Key, best.Key) < 0)
                    best = candidate;
            var (left, right) = best.Key;
            var merged = tokens[left] + tokens[right];
            // Two different merges can spell the same token ("ab"+"c", "a"+"bc"); the second reuses its id.
            if (!ids.TryGetValue(merged, out var mergedId))
            {
                mergedId = tokens.Count;
                ids[merged] = mergedId;
                tokens.Add(merged);
            }
            merges.Add((tokens[left], tokens[right]));
            foreach (var (symbols, _) in words) Merge(symbols, left, right, mergedId);
        }
        return new TrainedBpe(tokens, merges);
    }

    /// <summary>Each regex piece of the corpus, spelled in byte symbols, with how often it occurs.</summary>
    private static Dictionary<string, int> CountWords(IEnumerable<string> texts)
    {
        var regex = new Regex(ByteLevelBpeTextTokenizer.Gpt2Pattern, RegexOptions.Compiled);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (Match piece in regex.Matches(text))
            {
                var word = ByteLevelAlphabet.Spell(piece.Value);
                counts[word] = counts.GetValueOrDefault(word) + 1;
            }
        return counts;
    }

    private static int ComparePairs(List<string> tokens, (int Left, int Right) a, (int Left, int Right) b)
    {
        var byLeft = string.CompareOrdinal(tokens[a.Left], tokens[b.Left]);
        return byLeft != 0 ? byLeft : string.CompareOrdinal(tokens[a.Right], tokens[b.Right]);
    }

    /// <summary>Replaces every occurrence of left, right from the start, as BPE applies a merge.</summary>
    private static void Merge(List<int> symbols, int left, int right, int merged)
    {
        var write = 0;
        for (var read = 0; read < symbols.Count; read++, write++)
        {
            if (read + 1 < symbols.Count && symbols[read] == left && symbols[read + 1] == right)
            {
                symbols[write] = merged;
                read++;
            }
            else
                symbols[write] = symbols[read];
        }
        symbols.RemoveRange(write, symbols.Count - write);
    }
}

/// <summary>A fitted vocabulary: tokens by id (specials first, then bytes, then merges) and the merges by rank.</summary>
public sealed class TrainedBpe(IReadOnlyList<string> tokens, IReadOnlyList<(string Left, string Right)> merges)
{
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";

    public IReadOnlyList<string> Tokens { get; } = tokens;

    public IReadOnlyList<(string Left, string Right)> Merges { get; } = merges;

    public int VocabSize => Tokens.Count;

    /// <summary>Writes vocab.json (token to id, in id order) and merges.txt ("#version" line, then "left right" by rank).</summary>
    public void Save(string directory)
    {
        AtomicFile.Write(Path.Combine(directory, VocabFile), stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            json.WriteStartObject();
            for (var id = 0; id < Tokens.Count; id++) json.WriteNumber(Tokens[id], id);
            json.WriteEndObject();
        });
        var text = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in Merges) text.Append(left).Append(' ').Append(right).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(directory, MergesFile), text.ToString());
    }
}
