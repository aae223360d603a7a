using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;
using SimNpo.Tests.Training;

namespace SimNpo.Tests.Model;

/// <summary>
/// A checkpoint that does not match its config.json is refused with the file and the tensor named; what a Hugging Face
/// checkpoint may carry beyond the parameters (a tied model's lm_head, rotary inv_freq buffers) is tolerated.
/// </summary>
public class ModelFilesTests
{
    private static readonly LlamaConfig Tied = TinyTask.Config with { TieWordEmbeddings = true };

    [Test]
    public void RefusesACheckpointThatDoesNotMatchTheConfig()
    {
        using var directory = new TempDirectory();
        var (layout, weights) = SavedModel(directory.Path);
        var entries = layout.Entries;

        Rewrite(directory.Path, weights, layout, extra: [new("model.layers.9.mlp.up_proj.weight", [2, 2], new float[4])]);
        Assert.That(Refusal(directory.Path),
            Is.EqualTo("checkpoint tensor 'model.layers.9.mlp.up_proj.weight' is not a parameter of this LlamaForCausalLM config"));

        Rewrite(directory.Path, weights, layout, skip: entries[1].Name);
        Assert.That(Refusal(directory.Path), Is.EqualTo($"checkpoint lacks tensor '{entries[1].Name}'"));

        var key = layout.Layers[0].Key.Weight; // [16, 32]: transposed, the same number of values in the wrong shape
        Rewrite(directory.Path, weights, layout, skip: key.Name,
            extra: [new(key.Name, [key.Shape[1], key.Shape[0]], weights.AsMemory((int)key.Start, key.Length))]);
        Assert.That(Refusal(directory.Path),
            Is.EqualTo($"tensor '{key.Name}' has shape [{key.Shape[1]}, {key.Shape[0]}], config.json implies [{key.Shape[0]}, {key.Shape[1]}]"));
    }

    [Test]
    public void ToleratesATiedHeadAndRotaryBuffersAndLoadsTheWeights()
    {
        using var directory = new TempDirectory();
        var (layout, weights) = SavedModel(directory.Path);
        var embedding = layout.Embedding;
        Rewrite(directory.Path, weights, layout, extra:
        [
            new("lm_head.weight", embedding.Shape.Select(d => (long)d).ToArray(), weights.AsMemory((int)embedding.Start, embedding.Length)),
            new("model.layers.0.self_attn.rotary_emb.inv_freq", [4], new float[4]),
        ]);
        using var model = ModelFiles.Load(directory.Path, new ReferenceOps<float>());
        Assert.That(model.Parameters.ToArray(), Is.EqualTo(weights));
    }

    [Test]
    public void LoadWeightsRefusesAnotherConfiguration()
    {
        using var directory = new TempDirectory();
        SavedModel(directory.Path);
        using var other = new LlamaModel<float>(Tied with { HiddenSize = 16, HeadDim = 4 }, new ReferenceOps<float>());
        var error = Assert.Throws<BadInputException>(() => ModelFiles.LoadWeights(other, directory.Path))!;
        Assert.That((error.File, error.Problem),
            Is.EqualTo((Path.Combine(directory.Path, ModelFiles.ConfigFileName), "the configuration differs from the model's")));
    }

    /// <summary>A tied random model saved as a model directory; its layout and weights.</summary>
    private static (ParameterLayout Layout, float[] Weights) SavedModel(string directory)
    {
        using var model = new LlamaModel<float>(Tied, new ReferenceOps<float>());
        ModelInitializer.Randomize(model, seed: 3, std: 0.1);
        ModelFiles.Save(model, directory);
        return (model.Layout, model.Parameters.ToArray());
    }

    /// <summary>model.safetensors again: the layout's tensors but <paramref name="skip"/>, then <paramref name="extra"/>.</summary>
    private static void Rewrite(string directory, float[] weights, ParameterLayout layout, string? skip = null, TensorToWrite[]? extra = null)
    {
        var tensors = layout.Entries.Where(entry => entry.Name != skip)
            .Select(entry => new TensorToWrite(entry.Name, entry.Shape.Select(d => (long)d).ToArray(), weights.AsMemory((int)entry.Start, entry.Length)))
            .Concat(extra ?? []).ToArray();
        SafeTensorsWriter.Write(Path.Combine(directory, SafeTensorsCheckpoint.SingleFileName), tensors);
    }

    private static string Refusal(string directory)
    {
        var error = Assert.Throws<BadInputException>(() => ModelFiles.Load(directory, new ReferenceOps<float>()))!;
        Assert.That(error.File, Is.EqualTo(directory));
        return error.Problem;
    }
}
