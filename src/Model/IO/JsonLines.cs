using System.Text.Json;

namespace SimNpo.Model.IO;

/// <summary>One JSON object per line: each non-blank line parsed, with its 1-based number for error messages.</summary>
public static class JsonLines
{
    /// <summary>Refuses a missing file, a line that is not JSON or not an object, and a file without any record, naming file and line.</summary>
    public static IEnumerable<(JsonElement Record, int Line)> Objects(string path)
    {
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        var lineNumber = 0;
        var any = false;
        foreach (var line in Utf8Lines.Read(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(line);
                root = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new BadInputException(path, $"not valid JSON ({e.Message})", lineNumber, e);
            }
            if (root.ValueKind != JsonValueKind.Object) throw new BadInputException(path, $"expected a JSON object, got {root.ValueKind}", lineNumber);
            any = true;
            yield return (root, lineNumber);
        }
        if (!any) throw new BadInputException(path, "no records");
    }
}
