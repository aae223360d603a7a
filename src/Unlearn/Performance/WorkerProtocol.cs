using System.Text.Json;
using System.Text.Json.Nodes;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// The line protocol of a benchmark worker process (tools/bench/torch_bench.py --serve speaks it too): after warm-up
/// the worker writes {"ready": true, ...info}; for each "round" line it reads it writes {"figures": {name: value}};
/// at the end of its input it writes {"memory": {kind: bytes}} and exits. One JSON object per line on stdout.
/// </summary>
public static class WorkerProtocol
{
    public const string RoundRequest = "round";

    /// <summary>Runs <paramref name="rounds"/> as a worker: answers round requests until the input ends.</summary>
    public static void Serve(IBenchRounds rounds, TextReader input, TextWriter output)
    {
        var ready = new JsonObject { ["ready"] = true };
        foreach (var (key, value) in rounds.Info) ready[key] = value;
        Emit(output, ready);
        while (input.ReadLine() is { } line)
            if (line.Trim() == RoundRequest) Emit(output, new JsonObject { ["figures"] = ToJson(rounds.Round()) });
        Emit(output, new JsonObject { ["memory"] = ToJson(rounds.Finish()) });
    }

    /// <summary>The ready line's fields other than "ready", as text.</summary>
    public static Dictionary<string, string> ParseReady(string? line, string worker)
    {
        var ready = Parse(line, "ready", worker);
        return ready.Where(p => p.Key != "ready").ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "");
    }

    public static Dictionary<string, double> ParseFigures(string? line, string worker) =>
        Parse(line, "figures", worker)["figures"] is JsonObject figures
            ? figures.ToDictionary(p => p.Key, p => Number(p.Value, worker).GetValue<double>())
            : throw Malformed(worker, line, "\"figures\" is not an object");

    public static Dictionary<string, long> ParseMemory(string? line, string worker) =>
        Parse(line, "memory", worker)["memory"] is JsonObject memory
            ? memory.ToDictionary(p => p.Key, p => Number(p.Value, worker).GetValue<long>())
            : throw Malformed(worker, line, "\"memory\" is not an object");

    private static JsonObject Parse(string? line, string key, string worker)
    {
        if (line is null) throw new IOException($"{worker} ended its output before its \"{key}\" line");
        try
        {
            return JsonNode.Parse(line) is JsonObject json && json.ContainsKey(key) ? json : throw Malformed(worker, line, $"expected a \"{key}\" line");
        }
        catch (JsonException e)
        {
            throw Malformed(worker, line, e.Message);
        }
    }

    private static JsonValue Number(JsonNode? node, string worker) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number ? value
            : throw new IOException($"{worker} sent '{node?.ToJsonString()}' where a number belongs");

    private static IOException Malformed(string worker, string? line, string problem) => new($"{worker} sent a malformed line ({problem}): {line}");

    private static JsonObject ToJson<T>(IReadOnlyDictionary<string, T> values)
    {
        var json = new JsonObject();
        foreach (var (key, value) in values) json[key] = JsonValue.Create(value);
        return json;
    }

    private static void Emit(TextWriter output, JsonObject json)
    {
        output.WriteLine(json.ToJsonString());
        output.Flush();
    }
}
