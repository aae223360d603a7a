using System.Text.Json;
using SimNpo.Model;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Data;

/// <summary>
/// A JSON Lines data file: one object per line, either {"question", "answer"} (TOFU; other fields are ignored) or
/// {"prompt_ids", "answer_ids"} (pre-tokenized). Blank lines are skipped; any other bad line is refused with its number,
/// since a silently dropped record would change what is unlearned.
/// </summary>
public static class JsonlRecords
{
    /// <param name="vocabSize">Pre-tokenized ids must lie in [0, vocabSize).</param>
    public static IReadOnlyList<DataRecord> Read(string path, int vocabSize) => ReadNumbered(path, vocabSize).Select(pair => pair.Record).ToArray();

    /// <summary>The records with their 1-based line numbers, for refusals found after parsing (a record too long to train).</summary>
    public static IReadOnlyList<(DataRecord Record, int Line)> ReadNumbered(string path, int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        return JsonLines.Objects(path).Select(pair => (ParseRecord(pair.Record, vocabSize, path, pair.Line), pair.Line)).ToArray();
    }

    private static DataRecord ParseRecord(JsonElement root, int vocabSize, string path, int lineNumber)
    {
        BadInputException Bad(string problem, Exception? inner = null) => new(path, problem, lineNumber, inner);

        JsonElement Field(string name) =>
            root.TryGetProperty(name, out var value) ? value : throw Bad($"missing field '{name}'");

        string Text(string name)
        {
            var value = Field(name);
            return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Bad($"'{name}' must be a string, got {value.ValueKind}");
        }

        int[] TokenIds(string name)
        {
            var value = Field(name);
            if (value.ValueKind != JsonValueKind.Array) throw Bad($"'{name}' must be an array of token ids, got {value.ValueKind}");
            // An empty side would leave nothing to predict from (prompt) or nothing to score (answer).
            if (value.GetArrayLength() == 0) throw Bad($"'{name}' is empty");
            var ids = new int[value.GetArrayLength()];
            var i = 0;
            foreach (var element in value.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out var id))
                    throw Bad($"'{name}'[{i}] must be an integer token id, got {element.GetRawText()}");
                if (id < 0 || id >= vocabSize) throw Bad($"'{name}'[{i}] = {id} is outside the vocabulary of {vocabSize}");
                ids[i++] = id;
            }
            return ids;
        }

        var pretokenized = root.TryGetProperty("prompt_ids", out _) || root.TryGetProperty("answer_ids", out _);
        return pretokenized
            ? new PretokenizedRecord(new TokenizedExample(TokenIds("prompt_ids"), TokenIds("answer_ids")))
            : new QaRecord(Text("question"), Text("answer"));
    }
}
