using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Model.IO;

namespace SimNpo.Model;

/// <summary>Typed field access that names the file and the field when a value is missing or of the wrong kind.</summary>
internal sealed class ConfigReader(JsonObject json, string source, string prefix = "")
{
    /// <summary>The file being read, for messages.</summary>
    public string Source => source;

    /// <summary>An error naming the file and the problem.</summary>
    public BadInputException Refuse(string problem) => new(source, problem);

    private JsonValue? Value(string name)
    {
        var node = json[name];
        if (node is null || node.GetValueKind() == JsonValueKind.Null) return null;
        return node as JsonValue ?? throw new BadInputException(source, $"'{prefix}{name}' must be a single value");
    }

    public int Int(string name, int? fallback = null) =>
        OptionalInt(name) ?? fallback ?? throw new BadInputException(source, $"missing field '{prefix}{name}'");

    /// <summary>An integer field, or null when it is absent or null.</summary>
    public int? OptionalInt(string name) => Value(name) is { } value ? Integer(value, name) : null;

    private int Integer(JsonNode? value, string name) =>
        value is JsonValue number && number.GetValueKind() == JsonValueKind.Number
            && int.TryParse(number.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var result)
            ? result
            : throw new BadInputException(source, $"'{prefix}{name}' must be an integer, got {value?.ToJsonString() ?? "null"}");

    public double Number(string name, double? fallback = null)
    {
        var value = Value(name);
        if (value is null) return fallback ?? throw new BadInputException(source, $"missing field '{prefix}{name}'");
        if (value.GetValueKind() != JsonValueKind.Number)
            throw new BadInputException(source, $"'{prefix}{name}' must be a number, got {value.ToJsonString()}");
        return value.GetValue<double>();
    }

    public bool Flag(string name, bool fallback)
    {
        var value = Value(name);
        if (value is null) return fallback;
        return value.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new BadInputException(source, $"'{prefix}{name}' must be true or false, got {value.ToJsonString()}"),
        };
    }

    public string? Text(string name)
    {
        var value = Value(name);
        if (value is null) return null;
        if (value.GetValueKind() != JsonValueKind.String)
            throw new BadInputException(source, $"'{prefix}{name}' must be a string, got {value.ToJsonString()}");
        return value.GetValue<string>();
    }

    /// <summary>A token id or a non-empty list of them (Llama 3 lists several eos_token_id); the first is the one the encoder writes.</summary>
    public int[] TokenIds(string name, int fallback)
    {
        if (json[name] is not JsonArray list) return [Int(name, fallback)];
        if (list.Count == 0)
            throw new BadInputException(source, $"'{prefix}{name}' must be an integer or a non-empty list of integers, got {list.ToJsonString()}");
        return list.Select(id => Integer(id, name)).ToArray();
    }
}
