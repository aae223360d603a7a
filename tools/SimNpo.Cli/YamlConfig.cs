using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SimNpo.Model.IO;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SimNpo.Cli;

/// <summary>
/// A --config file in YAML, read into the same JSON object a JSON file gives: mappings become objects, sequences arrays,
/// and plain scalars take YAML 1.2's core schema (null, true/false, integers, floats; anything else a string), so that
/// `lr: 1e-5` and `"lr": 1e-5` mean the same. Quoted scalars and !!str stay strings.
/// </summary>
public static partial class YamlConfig
{
    public static bool IsYaml(string path) => Path.GetExtension(path).ToLowerInvariant() is ".yaml" or ".yml";

    public static JsonObject ReadObject(string path)
    {
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            // YamlDotNet's marks count lines from 1; its message repeats the position, which the exception already names.
            var message = Regex.Replace(e.InnerException?.Message ?? e.Message,
                @"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", "");
            throw new BadInputException(path, $"not valid YAML (column {e.Start.Column}: {message})", (int)e.Start.Line, e);
        }
        if (stream.Documents.Count == 0) return [];
        return Convert(stream.Documents[0].RootNode, path) as JsonObject
            ?? throw new BadInputException(path, "must be a YAML mapping of option names to values", (int)stream.Documents[0].RootNode.Start.Line);
    }

    private static JsonNode? Convert(YamlNode node, string path) => node switch
    {
        YamlMappingNode mapping => Mapping(mapping, path),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(child => Convert(child, path))]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new BadInputException(path, $"unsupported YAML node {node.NodeType}", (int)node.Start.Line),
    };

    private static JsonObject Mapping(YamlMappingNode mapping, string path)
    {
        var json = new JsonObject();
        foreach (var (key, value) in mapping.Children)
        {
            if (key is not YamlScalarNode { Value: { } name })
                throw new BadInputException(path, "a key must be a plain name", (int)key.Start.Line);
            if (json.ContainsKey(name)) throw new BadInputException(path, $"'{name}' is given twice", (int)key.Start.Line);
            json[name] = Convert(value, path);
        }
        return json;
    }

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        var taggedString = !scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific && scalar.Tag.Value == "tag:yaml.org,2002:str";
        if (scalar.Style is not ScalarStyle.Plain || taggedString) return JsonValue.Create(text);
        if (text is "" or "~" or "null" or "Null" or "NULL") return null;
        if (text is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (text is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            return JsonValue.Create(integer);
        if (Float().IsMatch(text)) return JsonValue.Create(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
        return JsonValue.Create(text);
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    /// <summary>The core schema's float (without .inf and .nan, which JSON cannot hold).</summary>
    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
