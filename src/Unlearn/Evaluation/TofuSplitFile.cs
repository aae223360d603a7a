using System.Text.Json;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// Reads a TOFU *_perturbed.jsonl split. Every refusal names the file and the line: a silently skipped item would
/// change the metric, and perturbed lists of different lengths would change what the geometric mean averages.
/// </summary>
public static class TofuSplitFile
{
    /// <summary>The first maxItems records (TOFU caps each split at its first 300 rows); blank lines are skipped.</summary>
    public static IReadOnlyList<TofuItem> Read(string path, TofuSplit split, int maxItems)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxItems);
        var items = new List<TofuItem>();
        foreach (var (record, lineNumber) in JsonLines.Objects(path))
        {
            var item = Parse(record, split, path, lineNumber);
            if (items.Count > 0 && item.PerturbedAnswers.Count != items[0].PerturbedAnswers.Count)
                throw new BadInputException(path,
                    $"{item.PerturbedAnswers.Count} perturbed answers, where line {items[0].Line} has {items[0].PerturbedAnswers.Count}", lineNumber);
            items.Add(item);
            if (items.Count == maxItems) break;
        }
        return items;
    }

    private static TofuItem Parse(JsonElement root, TofuSplit split, string path, int lineNumber)
    {
        BadInputException Bad(string problem, Exception? inner = null) => new(path, problem, lineNumber, inner);

        JsonElement Field(string name) => root.TryGetProperty(name, out var value) ? value : throw Bad($"missing field '{name}'");
        string Text(JsonElement value, string what) =>
            value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Bad($"{what} must be a string, got {value.ValueKind}");

        var perturbedField = Field("perturbed_answer");
        if (perturbedField.ValueKind != JsonValueKind.Array) throw Bad($"'perturbed_answer' must be a list of strings, got {perturbedField.ValueKind}");
        var perturbed = perturbedField.EnumerateArray().Select((value, i) => Text(value, $"'perturbed_answer'[{i}]")).ToArray();
        if (perturbed.Length == 0) throw Bad("'perturbed_answer' is empty: the truth ratio needs at least one perturbed answer");
        var answer = Text(Field(TofuSplit.Answer), $"'{TofuSplit.Answer}'");
        return new TofuItem(lineNumber, Text(Field("question"), "'question'"), answer, Text(Field(split.BaseAnswerField), $"'{split.BaseAnswerField}'"),
            perturbed);
    }
}
