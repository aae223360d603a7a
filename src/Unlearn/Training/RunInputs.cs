using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Unlearn.Training;

/// <summary>One file or model a run reads: where it was and the SHA-256 of its bytes (a model's: of its weight files).</summary>
public sealed record RunInput(string Path, string Sha256)
{
    /// <summary>
    /// A model directory is hashed through its weights (model.safetensors or the shards, as reports fingerprint it), any
    /// other path as one file. The whole bytes are hashed, streamed: SHA-256 runs at about 1.4 GB/s on one core of this
    /// machine (openssl's, which .NET uses), some 9 s for a 13 GB model whose loading reads those bytes anyway; size and
    /// modification time would be instant but miss a file rewritten in place with its time kept (cp -p, rsync -t).
    /// </summary>
    public static RunInput Of(string path)
    {
        if (Directory.Exists(path)) return new RunInput(path, ModelFingerprint.Sha256(path));
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        using var stream = File.OpenRead(path);
        return new RunInput(path, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }
}

/// <summary>
/// What a run read, by option name (model, forget, retain, ...), saved as inputs.json in its folder when it starts, so
/// that --resume continues only the same run: a data file or model that changed (another path with other bytes, or the
/// same path rewritten) is refused, naming it with its old and new path and hash.
/// </summary>
public sealed class RunInputs(IReadOnlyDictionary<string, RunInput> inputs)
{
    public const string FileName = "inputs.json";

    /// <summary>
    /// Raised when training changes what the same inputs compute, so that --resume refuses a run started before: 2 is the
    /// official Llama-2 template and undecayed norm weights (docs/fidelity.md).
    /// </summary>
    public const int TrainingVersion = 2;

    public IReadOnlyDictionary<string, RunInput> Inputs { get; } = inputs;

    /// <summary>Hashes each named path now.</summary>
    public static RunInputs Hash(IEnumerable<(string Name, string Path)> paths) =>
        new(paths.ToDictionary(pair => pair.Name, pair => RunInput.Of(pair.Path)));

    public void Save(string runDirectory)
    {
        var inputs = new JsonObject();
        foreach (var (name, input) in Inputs.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            inputs[name] = new JsonObject { ["path"] = input.Path, ["sha256"] = input.Sha256 };
        var json = new JsonObject { ["training_version"] = TrainingVersion, ["inputs"] = inputs };
        AtomicFile.WriteAllText(Path.Combine(runDirectory, FileName), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The inputs recorded in a run folder, or null when it has none (a run from before they were recorded).</summary>
    public static RunInputs? Load(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path)) return null;
        var json = JsonFile.ReadObject(path);
        var version = json["training_version"] is JsonValue value && value.TryGetValue<int>(out var number) ? number : 1;
        if (version != TrainingVersion || json["inputs"] is not JsonObject recorded)
            throw new BadInputException(path, $"records a run of training version {version}, this simnpo trains as version {TrainingVersion} " +
                "(the official Llama-2 template, undecayed norm weights: docs/fidelity.md), so --resume would not continue the same run; " +
                "start a new run, or finish this one with the simnpo that started it");
        var inputs = new Dictionary<string, RunInput>();
        foreach (var (name, node) in recorded)
        {
            if (node?["path"] is not JsonValue file || !file.TryGetValue<string>(out var filePath) || node["sha256"] is not JsonValue hash
                || !hash.TryGetValue<string>(out var sha256))
                throw new BadInputException(path, $"'{name}' must be an object with string 'path' and 'sha256'");
            inputs[name] = new RunInput(filePath, sha256);
        }
        return new RunInputs(inputs);
    }

    /// <summary>
    /// Refuses these inputs as the continuation of a run that recorded others. Bytes decide: a file moved elsewhere with
    /// the same content is the same input (reported through note); the same path with other content is not.
    /// </summary>
    public void CheckContinues(RunInputs recorded, string runDirectory, Action<string> note)
    {
        foreach (var name in recorded.Inputs.Keys.Union(Inputs.Keys).Order(StringComparer.Ordinal))
        {
            var (before, now) = (recorded.Inputs.GetValueOrDefault(name), Inputs.GetValueOrDefault(name));
            if (before?.Sha256 == now?.Sha256)
            {
                if (before!.Path != now!.Path) note($"--{name} moved from {before.Path} to {now.Path} (same content)");
                continue;
            }
            throw new BadInputException(now?.Path ?? before!.Path, $"--{name} differs from the run in {runDirectory}, which it cannot resume: " +
                $"it started with {Describe(before)}, this run gives {Describe(now)}; resume with the same inputs or choose another --out");
        }
    }

    private static string Describe(RunInput? input) => input is null ? "none" : $"{input.Path} (sha256 {input.Sha256[..Math.Min(16, input.Sha256.Length)]}…)";
}
