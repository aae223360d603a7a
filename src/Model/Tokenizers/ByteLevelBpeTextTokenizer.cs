using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using SimNpo.Model.IO;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// Byte-level BPE as GPT-2, Phi, Llama 3 and Qwen2 use it, in Hugging Face tokenizers' order: added tokens are matched
/// whole first (<see cref="AddedTokens"/>), the text between them is normalized (Qwen2's NFC) and split by the
/// pre-tokenizer's regex, and each piece's UTF-8 bytes, spelled in <see cref="ByteLevelAlphabet"/>, are merged by rank
/// (Microsoft.ML.Tokenizers' BPE, given one piece at a time). With ignore_merges (Llama 3) a piece that is itself in the
/// vocabulary is taken whole. Read from vocab.json + merges.txt or from a tokenizer.json; the files name no BOS or EOS
/// for Encode to add, so those come from config.json and the chat template decides whether to place them.
/// </summary>
public sealed class ByteLevelBpeTextTokenizer : ITextTokenizer
{
    /// <summary>GPT-2's split: contractions, letter runs, digit runs, other symbols, each with at most one leading space.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly Regex WholeText = new(@"[\s\S]+", RegexOptions.Compiled);

    private readonly BpeTokenizer merges;
    private readonly Regex split;
    private readonly Dictionary<string, int> vocabulary;
    private readonly AddedTokens added;
    private readonly bool composeUnicode;
    private readonly bool ignoreMerges;

    private ByteLevelBpeTextTokenizer(TokenizerParts parts, int bosId, int eosId)
    {
        // The pieces come split already; without a pre-tokenizer of its own the library would split them again at spaces.
        merges = BpeTokenizer.Create(new BpeOptions(parts.Vocabulary)
            { Merges = parts.Merges, ByteLevel = true, PreTokenizer = new RegexPreTokenizer(WholeText, null) });
        split = new Regex(parts.SplitPattern, RegexOptions.Compiled);
        vocabulary = parts.Vocabulary;
        added = parts.Added;
        composeUnicode = parts.ComposeUnicode;
        ignoreMerges = parts.IgnoreMerges;
        VocabSize = vocabulary.Values.Concat(added.Ids).DefaultIfEmpty(-1).Max() + 1;
        foreach (var (name, id) in new[] { ("bos", bosId), ("eos", eosId) })
            if (id < 0 || id >= VocabSize) throw new BadInputException(parts.Source, $"{name} token id {id} is outside the vocabulary of {VocabSize}");
        BosId = bosId;
        EosId = eosId;
    }

    public int VocabSize { get; }

    public int BosId { get; }

    public int EosId { get; }

    public IReadOnlyList<int> Encode(string text) => added.Encode(text, EncodeSegment);

    /// <summary>Added tokens decode to their text (nothing is skipped); the ids between them are decoded together.</summary>
    public string Decode(IEnumerable<int> ids) => added.Decode(ids, run => merges.Decode(run) ?? "");

    public int? TokenId(string token) => added.IdOf(token) ?? (vocabulary.TryGetValue(ByteLevelAlphabet.Spell(token), out var id) ? id : null);

    private IEnumerable<int> EncodeSegment(string segment)
    {
        if (composeUnicode) segment = UnicodeNfc.Normalize(segment);
        foreach (Match piece in split.Matches(segment))
        {
            if (ignoreMerges && vocabulary.TryGetValue(ByteLevelAlphabet.Spell(piece.Value), out var whole))
                yield return whole;
            else
                foreach (var id in merges.EncodeToIds(piece.Value)) yield return id;
        }
    }

    /// <summary>
    /// GPT-2's layout: vocab.json, merges.txt and, beside them when present, added_tokens.json (Phi's runs of spaces and
    /// tabs, each matched whole) and special_tokens_map.json (GPT-2's &lt;|endoftext|&gt;, matched whole as Hugging Face
    /// registers it).
    /// </summary>
    public static ByteLevelBpeTextTokenizer FromVocabAndMerges(string vocabPath, string mergesPath, int bosId, int eosId)
    {
        if (JsonFile.Read(vocabPath) is not JsonObject vocab) throw new BadInputException(vocabPath, "vocabulary must be a JSON object of token to id");
        if (!File.Exists(mergesPath)) throw new BadInputException(mergesPath, "file not found");
        // merges.txt starts with a "#version" line; every other line is one merge "left right".
        var mergeLines = File.ReadLines(mergesPath).Where(line => line.Length > 0 && !line.StartsWith("#version", StringComparison.Ordinal));
        var vocabulary = ReadVocabulary(vocab, vocabPath);
        string Beside(string name) => Path.Combine(Path.GetDirectoryName(vocabPath) ?? ".", name);
        var added = File.Exists(Beside("added_tokens.json")) && JsonFile.Read(Beside("added_tokens.json")) is JsonObject addedJson
            ? ReadVocabulary(addedJson, Beside("added_tokens.json")) : new Dictionary<string, int>(StringComparer.Ordinal);
        if (File.Exists(Beside("special_tokens_map.json")) && JsonFile.Read(Beside("special_tokens_map.json")) is JsonObject specials)
            foreach (var (_, special) in specials)
                if ((special is JsonObject entry ? entry["content"] : special) is JsonValue text && text.GetValueKind() == JsonValueKind.String
                    && vocabulary.TryGetValue(text.GetValue<string>(), out var id))
                    added.TryAdd(text.GetValue<string>(), id);
        var parts = new TokenizerParts(vocabPath, vocabulary, ReadMerges(mergeLines, mergesPath), new AddedTokens(added), Gpt2Pattern, false, false);
        return new ByteLevelBpeTextTokenizer(parts, bosId, eosId);
    }

    /// <summary>A Hugging Face tokenizer.json whose model is BPE with a ByteLevel pre-tokenizer; anything else it holds is refused.</summary>
    public static ByteLevelBpeTextTokenizer FromTokenizerJson(string path, int bosId, int eosId)
    {
        if (JsonFile.Read(path) is not JsonObject root) throw new BadInputException(path, "tokenizer.json must be a JSON object");
        if (root["model"] is not JsonObject model) throw new BadInputException(path, "missing object 'model'");
        var type = model["type"]?.GetValueKind() == JsonValueKind.String ? model["type"]!.GetValue<string>() : null;
        if (type != "BPE") throw new BadInputException(path, $"model.type '{type}' is not supported (only BPE)");
        if (model["vocab"] is not JsonObject vocab) throw new BadInputException(path, "model.vocab must be an object of token to id");
        if (model["merges"] is not JsonArray mergeList) throw new BadInputException(path, "model.merges must be a list");
        foreach (var option in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model[option] is JsonValue value && value.GetValueKind() == JsonValueKind.String && value.GetValue<string>().Length > 0)
                throw new BadInputException(path, $"model.{option} is not supported in a byte-level BPE");
        if (model["byte_fallback"]?.GetValueKind() == JsonValueKind.True) throw new BadInputException(path, "model.byte_fallback = true is not supported");
        // tokenizers before 0.20 write a merge as "left right", later ones as ["left", "right"].
        var mergeLines = mergeList.Select(merge => merge switch
        {
            JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
            JsonArray { Count: 2 } pair when pair.All(part => part?.GetValueKind() == JsonValueKind.String) =>
                $"{pair[0]!.GetValue<string>()} {pair[1]!.GetValue<string>()}",
            _ => throw new BadInputException(path, $"model.merges holds {merge?.ToJsonString()}, not a merge"),
        });
        var parts = new TokenizerParts(path, ReadVocabulary(vocab, path), ReadMerges(mergeLines, path), ReadAddedTokens(root["added_tokens"], path),
            ReadSplitPattern(root["pre_tokenizer"], path), ReadNormalizer(root["normalizer"], path),
            model["ignore_merges"]?.GetValueKind() == JsonValueKind.True);
        return new ByteLevelBpeTextTokenizer(parts, bosId, eosId);
    }

    private sealed record TokenizerParts(string Source, Dictionary<string, int> Vocabulary, List<string> Merges, AddedTokens Added, string SplitPattern,
        bool ComposeUnicode, bool IgnoreMerges);

    /// <summary>added_tokens: each matched whole in the text; the stripping options that change the text around one are refused.</summary>
    private static AddedTokens ReadAddedTokens(JsonNode? list, string source)
    {
        var tokens = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in list as JsonArray ?? [])
        {
            if (token?["content"] is not JsonValue content || content.GetValueKind() != JsonValueKind.String
                || token["id"] is not JsonValue id || !id.TryGetValue<int>(out var number))
                throw new BadInputException(source, $"added_tokens holds {token?.ToJsonString()}, which lacks a string 'content' and an integer 'id'");
            foreach (var option in new[] { "lstrip", "rstrip", "single_word" })
                if (token[option]?.GetValueKind() == JsonValueKind.True)
                    throw new BadInputException(source, $"added token '{content.GetValue<string>()}' has {option} = true, which is not supported");
            tokens[content.GetValue<string>()] = number;
        }
        return new AddedTokens(tokens);
    }

    /// <summary>None, or Unicode NFC (Qwen2); a normalizer that changes more than that is refused.</summary>
    private static bool ReadNormalizer(JsonNode? normalizer, string source) => normalizer?["type"]?.ToString() switch
    {
        null when normalizer is null || normalizer.GetValueKind() == JsonValueKind.Null => false,
        "NFC" => true,
        "Sequence" when normalizer!["normalizers"] is JsonArray { Count: 0 } => false,
        _ => throw new BadInputException(source, $"normalizer {normalizer!.ToJsonString()} is not supported (only none or NFC)"),
    };

    private static Dictionary<string, int> ReadVocabulary(JsonObject vocab, string source)
    {
        var vocabulary = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        foreach (var (token, id) in vocab)
        {
            if (id is not JsonValue value || !value.TryGetValue<int>(out var number) || number < 0)
                throw new BadInputException(source, $"token '{token}' has id {id?.ToJsonString()}, not a non-negative integer");
            vocabulary[token] = number;
        }
        if (vocabulary.Count == 0) throw new BadInputException(source, "the vocabulary is empty");
        return vocabulary;
    }

    private static List<string> ReadMerges(IEnumerable<string> mergeLines, string source)
    {
        var list = new List<string>();
        foreach (var merge in mergeLines)
        {
            if (merge.Split(' ').Length != 2) throw new BadInputException(source, $"merge '{merge}' is not two tokens separated by one space");
            list.Add(merge);
        }
        return list;
    }

    /// <summary>
    /// The regex that splits text before the byte mapping: GPT-2's when the ByteLevel pre-tokenizer splits itself
    /// (use_regex: GPT-2, Phi), or the pattern of an isolating Split step before a ByteLevel step that does not (Llama 3, Qwen2).
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
