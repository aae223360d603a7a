using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Tests.SafeTensors;

public class SafeTensorsCheckpointTests
{
    private const string Index = SafeTensorsCheckpoint.IndexFileName;

    /// <summary>Two shards: "a" and "b" in the first, "c" in the second.</summary>
    private static void WriteShards(TempDirectory directory)
    {
        SafeTensorsWriter.Write(directory.File("model-00001-of-00002.safetensors"),
            [new("a", [2], new[] { 1f, 2f }), new("b", [2], new[] { 3, 4 })], new Dictionary<string, string> { ["format"] = "pt" });
        SafeTensorsWriter.Write(directory.File("model-00002-of-00002.safetensors"), [new("c", [1, 2], new[] { 5.0, 6.0 })]);
    }

    private const string WeightMap =
        """{"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}""";

    [Test]
    public void ReadsTensorsAcrossShardsThroughTheIndex()
    {
        using var directory = new TempDirectory();
        WriteShards(directory);
        File.WriteAllText(directory.File(Index), $$"""{"metadata":{"total_size":24,"note":"x"},"weight_map":{{WeightMap}}}""");

        using var checkpoint = SafeTensorsCheckpoint.Open(directory.Path);
        Assert.That(checkpoint.Tensors.Keys, Is.EquivalentTo(new[] { "a", "b", "c" }));
        Assert.That(checkpoint.Metadata, Is.EquivalentTo(new Dictionary<string, string> { ["total_size"] = "24", ["note"] = "x" }));
        Assert.That(checkpoint.ReadFloat32("a"), Is.EqualTo(new[] { 1f, 2f }));
        Assert.That(checkpoint.ReadInt32("b"), Is.EqualTo(new[] { 3, 4 }));
        Assert.That(checkpoint.ReadFloat64("c"), Is.EqualTo(new[] { 5.0, 6.0 }));
        Assert.That(checkpoint.Info("c").Shape, Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(Assert.Throws<BadInputException>(() => checkpoint.ReadInt64("d"))!.Message,
            Is.EqualTo($"{directory.Path}: no tensor named 'd' in the checkpoint"));
    }

    [Test]
    public void ReadsASingleFile()
    {
        using var directory = new TempDirectory();
        SafeTensorsWriter.Write(directory.File(SafeTensorsCheckpoint.SingleFileName), [new("w", [], new[] { 9L })],
            new Dictionary<string, string> { ["format"] = "pt" });
        using var checkpoint = SafeTensorsCheckpoint.Open(directory.Path);
        Assert.That(checkpoint.ReadInt64("w"), Is.EqualTo(new[] { 9L }));
        Assert.That(checkpoint.Metadata["format"], Is.EqualTo("pt"));
    }

    [TestCase("{\"weight_map\":", "not valid JSON")]
    [TestCase("[]", "must be a JSON object, not Array")]
    [TestCase("""{"metadata":{}}""", "needs a 'weight_map' object")]
    [TestCase("""{"weight_map":{"a":"../model-00001-of-00002.safetensors"}}""", "weight_map entry for 'a' must be a shard file name")]
    [TestCase("""{"weight_map":{"a":"model-00003-of-00002.safetensors"}}""", "shard model-00003-of-00002.safetensors is missing")]
    [TestCase("""{"weight_map":{"a":"model-00001-of-00002.safetensors","a":"model-00002-of-00002.safetensors"}}""", "Duplicate property 'a'")]
    [TestCase("""{"weight_map":{"a":"model-00002-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}""",
        "weight_map puts tensor 'a' in model-00002-of-00002.safetensors, which lacks it")]
    [TestCase("""{"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}""",
        "tensor 'b' of shard model-00001-of-00002.safetensors is not listed in weight_map")]
    public void RefusesABadIndex(string index, string expected)
    {
        using var directory = new TempDirectory();
        WriteShards(directory);
        File.WriteAllText(directory.File(Index), index);
        var error = Assert.Throws<BadInputException>(() => SafeTensorsCheckpoint.Open(directory.Path).Dispose())!;
        Assert.That(error.File, Is.EqualTo(directory.File(Index)));
        Assert.That(error.Problem, Does.Contain(expected));
    }

    [Test]
    public void RefusesTheSameTensorInTwoShards()
    {
        using var directory = new TempDirectory();
        WriteShards(directory);
        SafeTensorsWriter.Write(directory.File("model-00002-of-00002.safetensors"), [new("c", [1], new[] { 5.0 }), new("a", [1], new[] { 1f })]);
        File.WriteAllText(directory.File(Index), $$"""{"weight_map":{{WeightMap}}}""");
        var error = Assert.Throws<BadInputException>(() => SafeTensorsCheckpoint.Open(directory.Path).Dispose())!;
        Assert.That(error.Message,
            Is.EqualTo($"{directory.File("model-00002-of-00002.safetensors")}: tensor 'a' is also in shard model-00001-of-00002.safetensors"));
    }

    [Test]
    public void RefusesADirectoryWithoutWeights()
    {
        using var directory = new TempDirectory();
        var error = Assert.Throws<BadInputException>(() => SafeTensorsCheckpoint.Open(directory.Path))!;
        Assert.That(error.Message, Is.EqualTo($"{directory.Path}: neither model.safetensors nor model.safetensors.index.json found"));
    }
}
