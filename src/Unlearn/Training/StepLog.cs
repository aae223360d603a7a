using System.Text.Json;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// log.jsonl as a resumed run finds it. A kill can tear the last line mid-write: that line is dropped with a note. A
/// damaged line before it is not a kill's doing and is refused, naming the line. Lines past the checkpoint are dropped
/// too (the resumed run logs those steps again), and the file is rewritten atomically.
/// </summary>
public static class StepLog
{
    public static void KeepThrough(string path, int step, Action<string> note)
    {
        if (!File.Exists(path)) return;
        var lines = File.ReadAllLines(path);
        var kept = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (StepOf(lines[i]) is { } logged)
            {
                if (logged <= step) kept.Add(lines[i]);
            }
            else if (i == lines.Length - 1) note($"{path}: dropped its last line, cut off when the run was stopped ({Preview(lines[i])})");
            else throw new BadInputException(path, "not a step record (a JSON object with an integer \"step\")", line: i + 1);
        }
        AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join("\n", kept) + "\n");
    }

    private static int? StepOf(string line)
    {
        try
        {
            using var record = JsonDocument.Parse(line);
            return record.RootElement.ValueKind == JsonValueKind.Object && record.RootElement.TryGetProperty("step", out var step)
                && step.TryGetInt32(out var value) ? value : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Preview(string line) => line.Length <= 40 ? line : line[..40] + "...";
}
