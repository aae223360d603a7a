using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Unlearn.Data;

/// <summary>
/// A plain-text corpus (MUSE's raw/forget.txt: documents joined by blank lines) cut into training chunks as the MUSE
/// code does (swj0419/muse_bench commit fcd6651d, baselines/baselines/dataset.py DefaultDataset, the .txt branch): the
/// whole text tokenized without special tokens, cut into runs of chunkLength − 1 tokens, each after a BOS; a last run
/// shorter than chunkLength is filled up from the start of the first chunk (its BOS included) and cut to chunkLength.
/// Every token after the BOS is trained on (labels = input_ids there), so a chunk is the example [BOS] → the rest.
/// </summary>
public static class TextCorpus
{
    public static bool IsTextFile(string path) => path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase);

    public static IReadOnlyList<TokenizedExample> Read(string path, ITextTokenizer tokenizer, int chunkLength)
    {
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        var tokens = tokenizer.Encode(File.ReadAllText(path));
        if (tokens.Count == 0) throw new BadInputException(path, "no text to train on");
        return Chunks(tokens, tokenizer.BosId, chunkLength);
    }

    public static IReadOnlyList<TokenizedExample> Chunks(IReadOnlyList<int> tokens, int bosId, int chunkLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkLength, 2);
        var run = chunkLength - 1;
        var chunks = new List<List<int>>();
        for (var start = 0; start < tokens.Count; start += run)
            chunks.Add([bosId, .. tokens.Skip(start).Take(run)]);
        if (chunks[^1].Count < chunkLength) chunks[^1] = [.. chunks[^1].Concat(chunks[0]).Take(chunkLength)];
        return chunks.Select(chunk => new TokenizedExample([chunk[0]], chunk.Skip(1).ToArray())).ToArray();
    }
}
