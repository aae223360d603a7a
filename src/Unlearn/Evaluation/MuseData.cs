using System.Text.Json;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Data;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>A VerbMem passage: the prompt and its true continuation.</summary>
public sealed record VerbatimPassage(string Prompt, string Continuation);

/// <summary>A KnowMem question and its short answer.</summary>
public sealed record QuestionAnswer(string Question, string Answer);

/// <summary>
/// MUSE's JSON files: a list of objects ({prompt, gt} for VerbMem, {question, answer} for KnowMem) or of strings
/// (PrivLeak texts), or the Hub's Parquet files of the same columns. A record that lacks a field is refused with the file and the record's line.
/// </summary>
public static class MuseData
{
    public const string VerbMemFile = "verbmem.json";
    public const string KnowMemFile = "knowmem_qa.json";
    public const string KnowMemExamplesFile = "knowmem_qa_icl.json";
    /// <summary>In MUSE's privleak/ folder (muse_bench constants.py DEFAULT_DATA).</summary>
    public const string PrivLeakForgetFile = "forget.json";
    public const string PrivLeakHoldoutFile = "holdout.json";

    public static IReadOnlyList<VerbatimPassage> ReadVerbMem(string path) => ParquetColumns.IsParquet(path)
        ? ParquetColumns.ReadStrings(path, "prompt", "gt").Select(row => new VerbatimPassage(row[0], row[1])).ToArray()
        : Read(path, (record, field) => new VerbatimPassage(field(record, "prompt"), field(record, "gt")));

    public static IReadOnlyList<QuestionAnswer> ReadQa(string path) => ParquetColumns.IsParquet(path)
        ? ParquetColumns.ReadStrings(path, "question", "answer").Select(row => new QuestionAnswer(row[0], row[1])).ToArray()
        : Read(path, (record, field) => new QuestionAnswer(field(record, "question"), field(record, "answer")));

    /// <summary>A list of texts; objects with a "text" field are accepted too.</summary>
    public static IReadOnlyList<string> ReadTexts(string path) => ParquetColumns.IsParquet(path)
        ? ParquetColumns.ReadStrings(path, "text").Select(row => row[0]).ToArray()
        : Read(path, (record, field) => record.Value.ValueKind == JsonValueKind.String ? record.Value.GetString()! : field(record, "text"));

    /// <summary>An element of the top-level list with the line it starts on.</summary>
    public readonly record struct JsonRecord(JsonElement Value, int Line);

    private static IReadOnlyList<TRecord> Read<TRecord>(string path, Func<JsonRecord, Func<JsonRecord, string, string>, TRecord> convert)
    {
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        var bytes = File.ReadAllBytes(path);
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new BadInputException(path, $"not valid JSON ({e.Message})", (int?)e.LineNumber + 1, e);
        }
        if (root.ValueKind != JsonValueKind.Array) throw new BadInputException(path, $"expected a JSON list of records, got {root.ValueKind}");
        var lines = RecordLines(bytes);
        string Field(JsonRecord record, string name)
        {
            if (record.Value.ValueKind != JsonValueKind.Object)
                throw new BadInputException(path, $"expected a JSON object, got {record.Value.ValueKind}", record.Line);
            if (!record.Value.TryGetProperty(name, out var value)) throw new BadInputException(path, $"missing field '{name}'", record.Line);
            return value.ValueKind == JsonValueKind.String ? value.GetString()!
                : throw new BadInputException(path, $"'{name}' must be a string, got {value.ValueKind}", record.Line);
        }
        var records = root.EnumerateArray().Select((element, i) => convert(new JsonRecord(element, lines[i]), Field)).ToArray();
        if (records.Length == 0) throw new BadInputException(path, "no records");
        return records;
    }

    /// <summary>The 1-based line on which each element of the top-level list starts (JsonDocument keeps no positions).</summary>
    private static List<int> RecordLines(byte[] json)
    {
        var reader = new Utf8JsonReader(json);
        var lines = new List<int>();
        var (line, scanned) = (1, 0);
        while (reader.Read())
        {
            if (reader.CurrentDepth != 1 || reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray or JsonTokenType.PropertyName) continue;
            var start = (int)reader.TokenStartIndex;
            for (; scanned < start; scanned++) if (json[scanned] == (byte)'\n') line++;
            lines.Add(line);
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
        }
        return lines;
    }
}
