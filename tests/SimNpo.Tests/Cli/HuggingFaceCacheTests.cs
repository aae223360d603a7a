using System.Security.Cryptography;
using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Tests.Cli;

/// <summary>
/// Models read from the Hugging Face cache layout, where snapshots/&lt;rev&gt;/ holds every file as a symbolic link to
/// ../../blobs/&lt;sha256&gt;: the commands give the same results as on a plain copy of the files.
/// </summary>
public class HuggingFaceCacheTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void ACachedSnapshotOfSymbolicLinksLoadsLikeItsFiles(bool sharded)
    {
        using var directory = new TempDirectory();
        var plain = TinyModelFiles.SaveModel(directory.File("plain"));
        if (sharded) SplitIntoShards(plain);
        var snapshot = MirrorAsCache(plain, directory.File("hub/models--tiny--llama"));
        Assert.That(Directory.GetFiles(snapshot).Select(file => new FileInfo(file).LinkTarget), Has.All.StartWith("../../blobs/"));
        Assert.That(File.Exists(Path.Combine(snapshot, SafeTensorsCheckpoint.IndexFileName)), Is.EqualTo(sharded));

        string[] Generate(string model) => ["generate", "--model", model, "--prompt", "hello", "--max-new-tokens", "8"];
        var fromFiles = Simnpo.Run(Generate(plain));
        var fromCache = Simnpo.Run(Generate(snapshot));
        Assert.That(fromCache.Code, Is.EqualTo(CommandRunner.Success), fromCache.Error);
        Assert.That(fromCache.Output, Is.EqualTo(fromFiles.Output));
        Assert.That(fromCache.Output.TrimEnd(), Has.Length.GreaterThan("hello".Length), "a continuation was generated");

        // grad tokenizes question/answer text with the cached tokenizer and differentiates through the cached weights.
        File.WriteAllText(directory.File("qa.jsonl"), """{"question": "where", "answer": "here"}""" + "\n");
        string[] Grad(string model, string output) =>
            ["grad", "--model", model, "--data", directory.File("qa.jsonl"), "--prompt-format", "{question}", "--answer-prefix", "", "--out",
                directory.File(output)];
        Assert.That(Simnpo.Run(Grad(plain, "plain.safetensors")).Code, Is.EqualTo(CommandRunner.Success));
        var cachedGrad = Simnpo.Run(Grad(snapshot, "cache.safetensors"));
        Assert.That(cachedGrad.Code, Is.EqualTo(CommandRunner.Success), cachedGrad.Error);
        Assert.That(File.ReadAllBytes(directory.File("cache.safetensors")), Is.EqualTo(File.ReadAllBytes(directory.File("plain.safetensors"))));
    }

    /// <summary>Replaces model.safetensors by two shards and their index, as large checkpoints come.</summary>
    internal static void SplitIntoShards(string model)
    {
        var single = Path.Combine(model, SafeTensorsCheckpoint.SingleFileName);
        var weightMap = new JsonObject();
        using (var file = SafeTensorsFile.Open(single))
        {
            var names = file.Tensors.Keys.Order(StringComparer.Ordinal).ToArray();
            var shards = names.Chunk((names.Length + 1) / 2).ToArray();
            for (var i = 0; i < shards.Length; i++)
            {
                var shardName = $"model-{i + 1:D5}-of-{shards.Length:D5}.safetensors";
                SafeTensorsWriter.Write(Path.Combine(model, shardName),
                    shards[i].Select(name => new TensorToWrite(name, file.Tensors[name].Shape.ToArray(), file.ReadFloat32(name))).ToArray());
                foreach (var name in shards[i]) weightMap[name] = shardName;
            }
        }
        File.Delete(single);
        File.WriteAllText(Path.Combine(model, SafeTensorsCheckpoint.IndexFileName),
            new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = weightMap }.ToJsonString());
    }

    /// <summary>The cache's layout of a model folder: each file's bytes in blobs/&lt;sha256&gt;, and snapshots/main/&lt;name&gt; a relative link to
    /// it.</summary>
    private static string MirrorAsCache(string model, string repository)
    {
        var blobs = Directory.CreateDirectory(Path.Combine(repository, "blobs")).FullName;
        var snapshot = Directory.CreateDirectory(Path.Combine(repository, "snapshots", "main")).FullName;
        foreach (var file in Directory.GetFiles(model))
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
            File.Copy(file, Path.Combine(blobs, hash), overwrite: true);
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), $"../../blobs/{hash}");
        }
        return snapshot;
    }
}
