using System.Text.Json;
using SimNpo.Model.IO;

namespace SimNpo.Model.SafeTensors;

/// <summary>
/// The weights of a Hugging Face model directory: model.safetensors, or model.safetensors.index.json and the shards
/// its weight_map names, read as one set of tensors. Every tensor must sit in exactly the shard the index names.
/// </summary>
public sealed class SafeTensorsCheckpoint : ITensorReader
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly IReadOnlyList<SafeTensorsFile> shards;
    private readonly Dictionary<string, SafeTensorsFile> shardOf;
    private readonly Dictionary<string, TensorInfo> tensors;

    private SafeTensorsCheckpoint(string directory, IReadOnlyList<SafeTensorsFile> shards, IReadOnlyDictionary<string, string> metadata)
    {
        Directory = directory;
        this.shards = shards;
        Metadata = metadata;
        shardOf = [];
        tensors = [];
        foreach (var shard in shards)
        {
            foreach (var (name, tensor) in shard.Tensors)
            {
                if (shardOf.TryGetValue(name, out var other))
                    throw new BadInputException(shard.Path, $"tensor '{name}' is also in shard {Path.GetFileName(other.Path)}");
                shardOf.Add(name, shard);
                tensors.Add(name, tensor);
            }
        }
    }

    public string Directory { get; }

    public IReadOnlyDictionary<string, TensorInfo> Tensors => tensors;

    /// <summary>The single file's __metadata__, or the index's "metadata" (non-string values as their JSON text, e.g. total_size).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafeTensorsCheckpoint Open(string directory)
    {
        // Hugging Face prefers the single file when both are present; so do we.
        var single = Path.Combine(directory, SingleFileName);
        var index = Path.Combine(directory, IndexFileName);
        if (File.Exists(single))
        {
            var file = SafeTensorsFile.Open(single);
            return OwningShards([file], () => new SafeTensorsCheckpoint(directory, [file], file.Metadata));
        }

        if (!File.Exists(index)) throw new BadInputException(directory, $"neither {SingleFileName} nor {IndexFileName} found");
        var (weightMap, metadata) = ReadIndex(index);
        var shards = new List<SafeTensorsFile>();
        return OwningShards(shards, () =>
        {
            foreach (var shardName in weightMap.Values.Distinct())
            {
                var path = Path.Combine(directory, shardName);
                if (!File.Exists(path)) throw new BadInputException(index, $"shard {shardName} is missing");
                shards.Add(SafeTensorsFile.Open(path));
            }

            var checkpoint = new SafeTensorsCheckpoint(directory, shards, metadata);
            foreach (var (name, shardName) in weightMap)
            {
                if (!checkpoint.shardOf.TryGetValue(name, out var shard) || Path.GetFileName(shard.Path) != shardName)
                    throw new BadInputException(index, $"weight_map puts tensor '{name}' in {shardName}, which lacks it");
            }

            foreach (var (name, shard) in checkpoint.shardOf)
            {
                if (!weightMap.ContainsKey(name))
                    throw new BadInputException(index, $"tensor '{name}' of shard {Path.GetFileName(shard.Path)} is not listed in weight_map");
            }

            return checkpoint;
        });
    }

    /// <summary>transformers' default max_shard_size ("5GB").</summary>
    public const long DefaultShardBytes = 5_000_000_000;

    /// <summary>
    /// Writes tensors as a checkpoint in directory: model.safetensors when they fit one shard of maxShardBytes, else
    /// model-0000i-of-0000n.safetensors (consecutive tensors, a tensor never split, a shard passing the limit only when it
    /// holds one tensor) and model.safetensors.index.json, as transformers does. Each file is written atomically and
    /// streams its tensors; the other form's files left from an earlier save are removed, so the directory holds one.
    /// </summary>
    public static void Write(string directory, IReadOnlyList<TensorToWrite> tensors, IReadOnlyDictionary<string, string> metadata,
        long maxShardBytes = DefaultShardBytes)
    {
        var shards = new List<List<TensorToWrite>> { new() };
        var bytes = 0L;
        foreach (var tensor in tensors)
        {
            if (shards[^1].Count > 0 && bytes + tensor.ByteLength > maxShardBytes)
            {
                shards.Add([]);
                bytes = 0;
            }
            shards[^1].Add(tensor);
            bytes += tensor.ByteLength;
        }
        var single = Path.Combine(directory, SingleFileName);
        var index = Path.Combine(directory, IndexFileName);
        var oldShards = File.Exists(index) ? ReadIndex(index).WeightMap.Values.Distinct().ToArray() : [];
        if (shards.Count == 1)
        {
            SafeTensorsWriter.Write(single, tensors, metadata);
            File.Delete(index);
            foreach (var old in oldShards) File.Delete(Path.Combine(directory, old));
            return;
        }
        var weightMap = new Dictionary<string, string>();
        for (var i = 0; i < shards.Count; i++)
        {
            var name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafeTensorsWriter.Write(Path.Combine(directory, name), shards[i], metadata);
            foreach (var tensor in shards[i]) weightMap[tensor.Name] = name;
        }
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["total_size"] = tensors.Sum(t => t.ByteLength) },
            ["weight_map"] = new System.Text.Json.Nodes.JsonObject(weightMap.Select(pair => KeyValuePair.Create(pair.Key,
                (System.Text.Json.Nodes.JsonNode?)pair.Value))),
        };
        AtomicFile.WriteAllText(index, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Delete(single);
        foreach (var old in oldShards.Except(weightMap.Values)) File.Delete(Path.Combine(directory, old));
    }

    public TensorInfo Info(string name) =>
        tensors.TryGetValue(name, out var tensor) ? tensor : throw new BadInputException(Directory, $"no tensor named '{name}' in the checkpoint");

    /// <summary>The file that holds the tensor: the single file or its shard.</summary>
    public string FileOf(string name) => ShardOf(name).Path;

    public void ReadFloat32(string name, Span<float> destination) => ShardOf(name).ReadFloat32(name, destination);

    public void ReadFloat32(string name, long firstElement, Span<float> destination) => ShardOf(name).ReadFloat32(name, firstElement, destination);

    public void ReadFloat64(string name, Span<double> destination) => ShardOf(name).ReadFloat64(name, destination);

    public void ReadFloat64(string name, long firstElement, Span<double> destination) => ShardOf(name).ReadFloat64(name, firstElement, destination);

    public void ReadInt32(string name, Span<int> destination) => ShardOf(name).ReadInt32(name, destination);

    public void ReadInt64(string name, Span<long> destination) => ShardOf(name).ReadInt64(name, destination);

    public void Dispose()
    {
        foreach (var shard in shards) shard.Dispose();
    }

    private SafeTensorsFile ShardOf(string name)
    {
        Info(name);
        return shardOf[name];
    }

    /// <summary>Runs the construction; if it throws, closes the shards opened so far.</summary>
    private static SafeTensorsCheckpoint OwningShards(IReadOnlyList<SafeTensorsFile> shards, Func<SafeTensorsCheckpoint> build)
    {
        try
        {
            return build();
        }
        catch
        {
            foreach (var shard in shards) shard.Dispose();
            throw;
        }
    }

    private static (Dictionary<string, string> WeightMap, Dictionary<string, string> Metadata) ReadIndex(string index)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(index), SafeTensorsHeader.StrictJson);
        }
        catch (JsonException error)
        {
            throw new BadInputException(index, $"not valid JSON: {error.Message}", inner: error);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new BadInputException(index, $"must be a JSON object, not {root.ValueKind}");
            if (!root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new BadInputException(index, "needs a 'weight_map' object of tensor name -> shard file");

            var weightMap = new Dictionary<string, string>();
            foreach (var entry in map.EnumerateObject())
            {
                var shard = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : "";
                // A shard is a file beside the index: no path may lead elsewhere.
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or "..")
                    throw new BadInputException(index, $"weight_map entry for '{entry.Name}' must be a shard file name, found {entry.Value.GetRawText()}");
                weightMap.Add(entry.Name, shard);
            }

            var metadata = new Dictionary<string, string>();
            if (root.TryGetProperty("metadata", out var meta))
            {
                if (meta.ValueKind != JsonValueKind.Object) throw new BadInputException(index, $"'metadata' must be a JSON object, not {meta.ValueKind}");
                foreach (var entry in meta.EnumerateObject())
                    metadata.Add(entry.Name, entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText());
            }

            return (weightMap, metadata);
        }
    }
}
