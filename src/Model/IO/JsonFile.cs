using System.Text.Json;
using System.Text.Json.Nodes;

namespace SimNpo.Model.IO;

/// <summary>A whole JSON file (configs, reports, checkpoint state), refused with the file named when it is missing or malformed.</summary>
public static class JsonFile
{
    public static JsonNode? Read(string path)
    {
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        try
        {
            return JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new BadInputException(path, $"not valid JSON ({e.Message})", inner: e);
        }
    }

    public static JsonObject ReadObject(string path) =>
        Read(path) as JsonObject ?? throw new BadInputException(path, "must be a JSON object");
}
