using System.Text.Json;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Unlearn.Hub;

/// <summary>
/// A --model value: an existing local folder as it is, otherwise a Hub model id (`org/name[@revision]`) whose files are
/// found in, or downloaded into, the Hugging Face cache; the answer is always a folder in the Hugging Face layout.
/// Only what the engine reads is fetched: config.json, generation_config.json when there, model.safetensors or
/// model.safetensors.index.json with the shards it names, and the tokenizer files the repository has.
/// </summary>
public static class HubModels
{
    public const string GenerationConfigFileName = "generation_config.json";

    /// <summary>Optional files fetched when the repository has them.</summary>
    public static IReadOnlyList<string> OptionalFiles { get; } = [GenerationConfigFileName, .. ModelFiles.TokenizerFileNames, "added_tokens.json"];

    /// <summary>A model folder for the value: a local folder wins; a repository id is fetched; anything else is returned as a full path (its errors come later, naming it).</summary>
    public static string Resolve(string value, HubSettings? settings = null)
    {
        if (Directory.Exists(value) || HubRepo.TryParse(value, HubRepoType.Model) is not { } repo) return Path.GetFullPath(value);
        using var snapshot = Fetch(repo, settings ?? HubSettings.FromEnvironment());
        return snapshot.Folder;
    }

    /// <summary>The model's files in the cache (downloading what is missing); the snapshot names where they are (the caller disposes it).</summary>
    public static HubSnapshot Fetch(HubRepo repo, HubSettings settings)
    {
        var snapshot = HubSnapshot.Open(repo, settings);
        try
        {
            if (!snapshot.Has(ModelFiles.ConfigFileName))
                throw new HubException($"{repo} has no {ModelFiles.ConfigFileName}" + (snapshot.CacheOnly ? " in the cache" : "") + ": not a model in the Hugging Face layout");
            snapshot.Get(ModelFiles.ConfigFileName);
            foreach (var file in OptionalFiles.Where(snapshot.Has)) snapshot.Get(file);
            snapshot.MarkMissing(OptionalFiles);
            foreach (var file in WeightFiles(snapshot)) snapshot.Get(file);
            return snapshot;
        }
        catch
        {
            snapshot.Dispose();
            throw;
        }
    }

    /// <summary>model.safetensors, or the index and every shard its weight_map names (the index fetched first to read them).</summary>
    private static IEnumerable<string> WeightFiles(HubSnapshot snapshot)
    {
        if (snapshot.Has(SafeTensorsCheckpoint.SingleFileName)) return [SafeTensorsCheckpoint.SingleFileName];
        if (!snapshot.Has(SafeTensorsCheckpoint.IndexFileName))
            throw new HubException($"{snapshot.Repo} has neither {SafeTensorsCheckpoint.SingleFileName} nor {SafeTensorsCheckpoint.IndexFileName}"
                + (snapshot.CacheOnly ? " in the cache" : " (only safetensors weights are read, not pytorch_model.bin)"));
        var index = snapshot.Get(SafeTensorsCheckpoint.IndexFileName);
        return [SafeTensorsCheckpoint.IndexFileName, .. ShardNames(index)];
    }

    private static string[] ShardNames(string index)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(index));
            return document.RootElement.GetProperty("weight_map").EnumerateObject().Select(entry => entry.Value.GetString()!)
                .Distinct().Order(StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new BadInputException(index, $"not a safetensors index with a weight_map ({e.Message})", null, e);
        }
    }
}
