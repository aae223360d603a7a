using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using SimNpo.Model.IO;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// Byte-level BPE as GPT-2 and Llama 3 use it: the text is split by a regex, each piece's UTF-8 bytes are mapped to
/// printable characters (a space becomes 'Ġ'), and the merges are applied by rank. Read from vocab.json + merges.txt
/// or from a Hugging Face tokenizer.json. The files name no BOS or EOS for Encode to add, so they come from config.json.
/// </summary>
public sealed class ByteLevelBpeTextTokenizer : ITextTokenizer
{
    /// <summary>GPT-2's split: contractions, letter runs, digit runs, other symbols, each with at most one leading space.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly BpeTokenizer tokenizer;

    private ByteLevelBpeTextTokenizer(BpeTokenizer tokenizer, int vocabSize, int bosId, int eosId)
    {
        this.tokenizer = tokenizer;
        VocabSize = vocabSize;
        BosId = bosId;
        EosId = eosId;
    }

    public int VocabSize { get; }

    public int BosId { get; }

    public int EosId { get; }

    public IReadOnlyList<int> Encode(string text) => tokenizer.EncodeToIds(text);

    public string Decode(IEnumerable<int> ids) => tokenizer.Decode(ids);

    public static ByteLevelBpeTextTokenizer FromVocabAndMerges(string vocabPath, string mergesPath, int bosId, int eosId)
    {
        if (JsonFile.Read(vocabPath) is not JsonObject vocab) throw new BadInputException(vocabPath, "vocabulary must be a JSON object of token to id");
        if (!File.Exists(mergesPath)) throw new BadInputException(mergesPath, "file not found");
        // merges.txt starts with a "#version" line; every other line is one merge "left right".
        var merges = File.ReadLines(mergesPath).Where(line => line.Length > 0 && !line.StartsWith("#version", StringComparison.Ordinal));
        return Create(vocabPath, ReadVocabulary(vocab, vocabPath), ReadMerges(merges, mergesPath), new Dictionary<string, int>(), Gpt2Pattern, bosId, eosId);
    }

    /// <summary>The "model" of a tokenizer.json of type BPE with a ByteLevel pre-tokenizer; added tokens become special tokens.</summary>
    public static ByteLevelBpeTextTokenizer FromTokenizerJson(string path, int bosId, int eosId)
    {
        if (JsonFile.Read(path) is not JsonObject root) throw new BadInputException(path, "tokenizer.json must be a JSON object");
        if (root["model"] is not JsonObject model) throw new BadInputException(path, "missing object 'model'");
        var type = model["type"]?.GetValueKind() == JsonValueKind.String ? model["type"]!.GetValue<string>() : null;
        if (type != "BPE") throw new BadInputException(path, $"model.type '{type}' is not supported (only BPE)");
        if (root["normalizer"] is { } normalizer && normalizer.GetValueKind() != JsonValueKind.Null)
            throw new BadInputException(path, "a normalizer is not supported (byte-level BPE needs none)");
        if (model["vocab"] is not JsonObject vocab) throw new BadInputException(path, "model.vocab must be an object of token to id");
        if (model["merges"] is not JsonArray mergeList) throw new BadInputException(path, "model.merges must be a list");
        // tokenizers before 0.20 write a merge as "left right", later ones as ["left", "right"].
        var merges = mergeList.Select(merge => merge switch
        {
            JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
            JsonArray { Count: 2 } pair when pair.All(part => part?.GetValueKind() == JsonValueKind.String) =>
                $"{pair[0]!.GetValue<string>()} {pair[1]!.GetValue<string>()}",
            _ => throw new BadInputException(path, $"model.merges holds {merge?.ToJsonString()}, not a merge"),
        });
        var added = new Dictionary<string, int>();
        foreach (var token in root["added_tokens"] as JsonArray ?? [])
        {
            if (token?["content"] is not JsonValue content || content.GetValueKind() != JsonValueKind.String
                || token["id"] is not JsonValue id || !id.TryGetValue<int>(out var number))
                throw new BadInputException(path, $"added_tokens holds {token?.ToJsonString()}, which lacks a string 'content' and an integer 'id'");
            added[content.GetValue<string>()] = number;
        }
        return Create(path, ReadVocabulary(vocab, path), ReadMerges(merges, path), added, ReadSplitPattern(root["pre_tokenizer"], path), bosId, eosId);
    }

    private static ByteLevelBpeTextTokenizer Create(string source, Dictionary<string, int> vocabulary, List<string> merges,
        Dictionary<string, int> specialTokens, string pattern, int bosId, int eosId)
    {
        var vocabSize = vocabulary.Values.Concat(specialTokens.Values).DefaultIfEmpty(-1).Max() + 1;
        foreach (var (name, id) in new[] { ("bos", bosId), ("eos", eosId) })
            if (id < 0 || id >= vocabSize) throw new BadInputException(source, $"{name} token id {id} is outside the vocabulary of {vocabSize}");
        var tokenizer = BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = specialTokens,
            PreTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), specialTokens),
        });
        return new ByteLevelBpeTextTokenizer(tokenizer, vocabSize, bosId, eosId);
    }

    private static Dictionary<string, int> ReadVocabulary(JsonObject vocab, string source)
    {
        var vocabulary = new Dictionary<string, int>(vocab.Count);
        foreach (var (token, id) in vocab)
        {
            if (id is not JsonValue value || !value.TryGetValue<int>(out var number) || number < 0)
                throw new BadInputException(source, $"token '{token}' has id {id?.ToJsonString()}, not a non-negative integer");
            vocabulary[token] = number;
        }
        if (vocabulary.Count == 0) throw new BadInputException(source, "the vocabulary is empty");
        return vocabulary;
    }

    private static List<string> ReadMerges(IEnumerable<string> merges, string source)
    {
        var list = new List<string>();
        foreach (var merge in merges)
        {
            if (merge.Split(' ').Length != 2) throw new BadInputException(source, $"merge '{merge}' is not two tokens separated by one space");
            list.Add(merge);
        }
        return list;
    }

    /// <summary>
    /// The regex that splits text before the byte mapping: GPT-2's when the ByteLevel pre-tokenizer splits itself
    /// (use_regex), or the pattern of a Split step before a ByteLevel step that does not (Llama 3).
    /// </summary>
    private static string ReadSplitPattern(JsonNode? preTokenizer, string source)
    {
        var steps = preTokenizer?["type"]?.ToString() == "Sequence"
            ? (preTokenizer["pretokenizers"] as JsonArray ?? []).ToList()
            : [preTokenizer];
        var patterns = new List<string>();
        var byteLevel = false;
        foreach (var step in steps)
        {
            var kind = step?["type"]?.ToString();
            if (kind == "ByteLevel")
            {
                byteLevel = true;
                if (step!["add_prefix_space"]?.GetValueKind() == JsonValueKind.True)
                    throw new BadInputException(source, "pre_tokenizer ByteLevel with add_prefix_space = true is not supported");
                if (step["use_regex"]?.GetValueKind() != JsonValueKind.False) patterns.Add(Gpt2Pattern);
            }
            else if (kind == "Split" && step!["pattern"]?["Regex"] is JsonValue regex && step["behavior"]?.ToString() == "Isolated"
                     && step["invert"]?.GetValueKind() != JsonValueKind.True)
                patterns.Add(regex.GetValue<string>());
            else
                throw new BadInputException(source,
                    $"pre_tokenizer step {step?.ToJsonString()} is not supported (only a ByteLevel step, optionally after one isolating regex Split)");
        }
        if (!byteLevel) throw new BadInputException(source, "pre_tokenizer has no ByteLevel step: this is not a byte-level BPE");
        if (patterns.Count != 1) throw new BadInputException(source, $"pre_tokenizer splits by {patterns.Count} regexes; exactly one is supported");
        return patterns[0];
    }
}
