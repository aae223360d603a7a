using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// Reading the JSON of an official log with errors that name the file and the field. Python's json.dump writes a NaN
/// as a bare NaN token, which is not JSON: it is reported as a NaN value, with its line, rather than as a syntax error.
/// </summary>
public static partial class LogJson
{
    public static JsonNode Parse(string path)
    {
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        var text = File.ReadAllText(path);
        try
        {
            return JsonNode.Parse(text) ?? throw new BadInputException(path, "empty JSON (null)");
        }
        catch (JsonException e)
        {
            var line = (int?)e.LineNumber + 1;
            var lineText = line is { } l ? text.Split('\n').ElementAtOrDefault(l - 1) ?? "" : "";
            var field = FieldBeforeNonNumber().Match(lineText);
            throw field.Success
                ? new BadInputException(path, $"field '{field.Groups[1].Value}' is {field.Groups[2].Value}, not a number", line, e)
                : new BadInputException(path, $"not valid JSON ({e.Message})", line, e);
        }
    }

    /// <summary>A finite number at node, or an error naming the field (path and field as a reader would look for them).</summary>
    public static double Number(JsonNode? node, string path, string field)
    {
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.Number)
            throw new BadInputException(path, $"field '{field}' must be a number, got {Describe(node)}");
        var number = value.GetValue<double>();
        return double.IsFinite(number) ? number : throw new BadInputException(path, $"field '{field}' is {number}, not a finite number");
    }

    public static string Text(JsonNode? node, string path, string field) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>()
        : throw new BadInputException(path, $"field '{field}' must be a string, got {Describe(node)}");

    public static JsonObject Object(JsonNode? node, string path, string field) =>
        node as JsonObject ?? throw new BadInputException(path, $"field '{field}' must be an object, got {Describe(node)}");

    public static JsonArray Array(JsonNode? node, string path, string field) =>
        node as JsonArray ?? throw new BadInputException(path, $"field '{field}' must be a list, got {Describe(node)}");

    /// <summary>
    /// open-unlearning's value_by_index: an object keyed "0", "1", ... in order. Other keys (gaps, repeats, words) mean a
    /// log whose lists do not line up, refused with the field.
    /// </summary>
    public static IReadOnlyList<JsonObject> ByIndex(JsonNode? node, string path, string field)
    {
        var items = Object(node, path, field);
        var list = new List<JsonObject>(items.Count);
        foreach (var (key, item) in items)
        {
            if (key != list.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))
                throw new BadInputException(path, $"field '{field}' has index '{key}' where index {list.Count} was expected (indices must run 0, 1, 2, ...)");
            list.Add(Object(item, path, $"{field}.{key}"));
        }
        return list.Count > 0 ? list : throw new BadInputException(path, $"field '{field}' has no items");
    }

    private static string Describe(JsonNode? node) => node is null ? "nothing (missing or null)" : node.GetValueKind().ToString();

    [GeneratedRegex("\"([^\"]+)\"\\s*:\\s*(-?NaN|-?Infinity)")]
    private static partial Regex FieldBeforeNonNumber();
}
