using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// Reading official logs field by field, every refusal naming the file and the field. Python's json.dump writes NaN and
/// Infinity bare, which is not JSON: they are read as strings first so that the error can say which value it was.
/// </summary>
public sealed class LogJson(string path)
{
    public string Path { get; } = path;

    public BadInputException Bad(string field, string problem) => new(Path, $"{field}: {problem}");

    public JsonNode Parse()
    {
        if (!File.Exists(Path)) throw new BadInputException(Path, "file not found");
        try
        {
            return JsonNode.Parse(QuoteBareNonFinite(File.ReadAllText(Path))) ?? throw new BadInputException(Path, "is JSON null");
        }
        catch (JsonException e)
        {
            throw new BadInputException(Path, $"not valid JSON ({e.Message})", inner: e);
        }
    }

    public JsonObject Object(JsonNode? node, string field) => node as JsonObject ?? throw Bad(field, node is null ? "missing" : "must be a JSON object");

    public JsonArray Array(JsonNode? node, string field) => node as JsonArray ?? throw Bad(field, node is null ? "missing" : "must be a list");

    public string Text(JsonNode? node, string field) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : throw Bad(field, "must be a string");

    /// <summary>A finite number; NaN or ±Infinity (as Python writes them) is refused, since every aggregate it enters is meaningless.</summary>
    public double Number(JsonNode? node, string field)
    {
        if (node is not JsonValue value) throw Bad(field, node is null ? "missing" : "must be a number");
        if (value.GetValueKind() == JsonValueKind.String && value.GetValue<string>() is "NaN" or "Infinity" or "-Infinity")
            throw Bad(field, $"is {value.GetValue<string>()}");
        if (value.GetValueKind() != JsonValueKind.Number) throw Bad(field, "must be a number");
        return value.GetValue<double>();
    }

    public double[] Numbers(JsonNode? node, string field) => Array(node, field).Select((x, i) => Number(x, $"{field}[{i}]")).ToArray();

    /// <summary>Bare NaN, Infinity and -Infinity outside strings become "NaN", "Infinity", "-Infinity".</summary>
    private static string QuoteBareNonFinite(string text)
    {
        if (!text.Contains("NaN") && !text.Contains("Infinity")) return text;
        var result = new StringBuilder(text.Length + 16);
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                result.Append(c);
                if (c == '\\' && i + 1 < text.Length) result.Append(text[++i]);
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"') inString = true;
            var word = new[] { "-Infinity", "Infinity", "NaN" }.FirstOrDefault(w => string.CompareOrdinal(text, i, w, 0, w.Length) == 0);
            if (word is null)
            {
                result.Append(c);
                continue;
            }
            result.Append('"').Append(word).Append('"');
            i += word.Length - 1;
        }
        return result.ToString();
    }
}
