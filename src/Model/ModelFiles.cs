using System.Numerics;
using SimNpo.Kernels;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Model;

/// <summary>A model directory in the Hugging Face layout: config.json, model.safetensors (or shards), tokenizer files.</summary>
public static class ModelFiles
{
    public const string ConfigFileName = "config.json";

    /// <summary>Tokenizer files a model directory may hold; copied along when a model is saved.</summary>
    public static readonly string[] TokenizerFileNames = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"];

    /// <summary>Tensors some checkpoints carry that are not parameters (old Llama exports store rotary tables).</summary>
    private static bool IsIgnorable(string name) => name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);

    public static LlamaConfig LoadConfig(string directory) => LlamaConfig.Load(Path.Combine(directory, ConfigFileName));

    public static LlamaModel<T> Load<T>(string directory, IOps<T> ops, Precision? precision = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Directory.Exists(directory)) throw new BadInputException(directory, "model directory not found");
        var config = LoadConfig(directory);
        var model = new LlamaModel<T>(config, ops, precision);
        try
        {
            ReadWeights(model, directory);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Reads a directory's weights into an existing model of the same configuration (resuming from a checkpoint).</summary>
    public static void LoadWeights<T>(LlamaModel<T> model, string directory) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (LoadConfig(directory) != model.Config) throw new BadInputException(Path.Combine(directory, ConfigFileName), "the configuration differs from the model's");
        ReadWeights(model, directory);
    }

    /// <summary>Fills the model's parameter buffer from the directory's safetensors, checking names and shapes against its layout.</summary>
    private static void ReadWeights<T>(LlamaModel<T> model, string directory) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var checkpoint = SafeTensorsCheckpoint.Open(directory);
        var expected = model.Layout.ByName;
        foreach (var name in checkpoint.Tensors.Keys)
        {
            var tiedHead = name == "lm_head.weight" && model.Config.TieWordEmbeddings;
            if (!expected.ContainsKey(name) && !tiedHead && !IsIgnorable(name))
                throw new BadInputException(directory, $"checkpoint tensor '{name}' is not a parameter of this {model.Config.Architecture} config");
        }
        foreach (var entry in model.Layout.Entries)
        {
            if (!checkpoint.Tensors.TryGetValue(entry.Name, out var info))
                throw new BadInputException(directory, $"checkpoint lacks tensor '{entry.Name}'");
            if (!info.Shape.SequenceEqual(entry.Shape.Select(d => (long)d)))
                throw new BadInputException(directory, $"tensor '{entry.Name}' has shape [{string.Join(", ", info.Shape)}], config.json implies [{string.Join(", ", entry.Shape)}]");
            var values = new float[entry.Length];
            checkpoint.ReadFloat32(entry.Name, values);
            NonFiniteWeights.Check(values, entry.Name, checkpoint.FileOf(entry.Name));
            model.Weight(entry).CopyFrom((object)values is T[] same ? same : Array.ConvertAll(values, T.CreateTruncating));
        }
    }

    /// <summary>
    /// Writes config.json and model.safetensors (float32) into directory, each atomically, and copies the tokenizer
    /// files of tokenizerSource when given.
    /// </summary>
    public static void Save<T>(LlamaModel<T> model, string directory, string? tokenizerSource = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Directory.CreateDirectory(directory);
        var values = model.Parameters.All.ToArray();
        WriteWeights(model.Layout, values as float[] ?? Array.ConvertAll(values, float.CreateTruncating), directory);
        model.Config.Save(Path.Combine(directory, ConfigFileName));
        if (tokenizerSource is null || Path.GetFullPath(tokenizerSource) == Path.GetFullPath(directory)) return;
        foreach (var name in TokenizerFileNames)
        {
            var source = Path.Combine(tokenizerSource, name);
            if (File.Exists(source)) AtomicFile.Write(Path.Combine(directory, name), stream => { using var input = File.OpenRead(source); input.CopyTo(stream); });
        }
    }

    /// <summary>model.safetensors in directory, atomically: a flat float32 parameter buffer in the layout's order.</summary>
    public static void WriteWeights(ParameterLayout layout, float[] parameters, string directory)
    {
        var tensors = layout.Entries
            .Select(entry => new TensorToWrite(entry.Name, entry.Shape.Select(d => (long)d).ToArray(), parameters.AsMemory(entry.Offset, entry.Length)))
            .ToArray();
        SafeTensorsWriter.Write(Path.Combine(directory, SafeTensorsCheckpoint.SingleFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
