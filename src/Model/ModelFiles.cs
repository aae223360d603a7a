using System.Numerics;
using SimNpo.Kernels;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Model;

/// <summary>A model directory in the Hugging Face layout: config.json, model.safetensors (or shards), tokenizer files.</summary>
public static class ModelFiles
{
    public const string ConfigFileName = "config.json";

    /// <summary>Elements streamed at a time when loading or saving: 1 M (4 MiB of float32).</summary>
    private const int Piece = 1 << 20;

    /// <summary>Tokenizer files a model directory may hold; copied along when a model is saved.</summary>
    public static readonly string[] TokenizerFileNames = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
        "special_tokens_map.json"];

    /// <summary>Tensors some checkpoints carry that are not parameters (old Llama exports store rotary tables).</summary>
    private static bool IsIgnorable(string name) => name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <summary>The directory's config.json, with ids it gives as null taken from the tokenizer (<see cref="NullSpecialTokenIds"/>).</summary>
    public static LlamaConfig LoadConfig(string directory)
    {
        var path = Path.Combine(directory, ConfigFileName);
        var json = JsonFile.ReadObject(path);
        return NullSpecialTokenIds.FromTokenizer(json, LlamaConfig.FromJson(json, path), directory);
    }

    /// <param name="precision">How the weights are stored (the backend's own type by default).</param>
    /// <param name="masterWeights">
    /// For training at a precision narrower than T: make the model's master weights now, so that they receive the file's
    /// values as they are (a float32 checkpoint keeps its low bits) rather than the stored weights' rounding.
    /// </param>
    /// <param name="chunkLength">The most elements of one parameter buffer (<see cref="ParameterLayout"/>).</param>
    public static LlamaModel<T> Load<T>(string directory, IOps<T> ops, Precision? precision = null, bool masterWeights = false,
        int chunkLength = ParameterLayout.DefaultChunkLength)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Directory.Exists(directory)) throw new BadInputException(directory, "model directory not found");
        var config = LoadConfig(directory);
        var model = new LlamaModel<T>(config, ops, precision, chunkLength);
        try
        {
            if (masterWeights && model.Precision.HasMasterWeights) _ = model.MasterWeights;
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
        if (LoadConfig(directory) != model.Config)
            throw new BadInputException(Path.Combine(directory, ConfigFileName), "the configuration differs from the model's");
        ReadWeights(model, directory);
    }

    /// <summary>
    /// Fills the model's weights (and master weights, when it has them) from the directory's safetensors, checking names
    /// and shapes against its layout. Tensors stream in pieces through one small scratch, shard by shard, so loading
    /// never holds more than the model and a few megabytes; the weights' dtype is remembered as the one to save in.
    /// </summary>
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
                throw new BadInputException(directory,
                    $"tensor '{entry.Name}' has shape [{string.Join(", ", info.Shape)}], config.json implies [{string.Join(", ", entry.Shape)}]");
        }
        var piece = new float[Math.Min(Piece, model.Layout.Entries.Max(entry => entry.Length))];
        var converted = typeof(T) == typeof(float) ? null : new T[piece.Length];
        foreach (var entry in model.Layout.Entries)
        {
            var nonFinite = new NonFiniteWeights.Tally(entry.Name, checkpoint.FileOf(entry.Name));
            for (var start = 0; start < entry.Length; start += piece.Length)
            {
                var count = Math.Min(piece.Length, entry.Length - start);
                checkpoint.ReadFloat32(entry.Name, start, piece.AsSpan(0, count));
                nonFinite.Add(piece.AsSpan(0, count), start);
                ReadOnlySpan<T> values = converted is null
                    ? System.Runtime.InteropServices.MemoryMarshal.Cast<float, T>(piece.AsSpan(0, count))
                    : Convert(piece.AsSpan(0, count), converted.AsSpan(0, count));
                model.SetWeights(entry, start, values);
            }
            nonFinite.Check();
        }
        model.StoredDType = checkpoint.Tensors[model.Layout.Embedding.Name].DType;
    }

    private static Span<T> Convert<T>(ReadOnlySpan<float> source, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var i = 0; i < source.Length; i++) destination[i] = T.CreateTruncating(source[i]);
        return destination;
    }

    /// <summary>
    /// Writes config.json and model.safetensors into directory, each atomically, and copies the tokenizer files of
    /// tokenizerSource when given. The weights are written in dtype (F32, BF16 or F16), by default the dtype the model
    /// was loaded from (float32 for a model made here); from the master weights when the model has them, so a float32
    /// save keeps everything training computed. Each tensor streams from the model's buffers a piece at a time.
    /// </summary>
    /// <param name="maxShardBytes">Larger models are written as shards of at most this size with an index, as transformers does.</param>
    /// <param name="weights">The weights to write instead of the model's own: master weights gathered from the ranks that hold them in slices.</param>
    public static void Save<T>(LlamaModel<T> model, string directory, string? tokenizerSource = null, SafeTensorsDType? dtype = null,
        long maxShardBytes = SafeTensorsCheckpoint.DefaultShardBytes, ParameterSet<T>? weights = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var written = dtype ?? model.StoredDType ?? SafeTensorsDType.F32;
        if (!TorchDTypes.ContainsKey(written)) throw new ArgumentException($"models are saved as F32, BF16 or F16, not {written.HeaderName()}", nameof(dtype));
        Directory.CreateDirectory(directory);
        weights ??= model.HasMasterWeights ? model.MasterWeights : model.Parameters;
        var tensors = model.Layout.Entries
            .Select(entry => ParameterTensors.ToWrite(entry.Name, entry, weights[entry], written))
            .ToArray();
        SafeTensorsCheckpoint.Write(directory, tensors, new Dictionary<string, string> { ["format"] = "pt" }, maxShardBytes);
        model.Config.Save(Path.Combine(directory, ConfigFileName), TorchDTypes[written]);
        if (tokenizerSource is null || Path.GetFullPath(tokenizerSource) == Path.GetFullPath(directory)) return;
        foreach (var name in TokenizerFileNames)
        {
            var source = Path.Combine(tokenizerSource, name);
            if (File.Exists(source))
                AtomicFile.Write(Path.Combine(directory, name), stream => { using var input = File.OpenRead(source); input.CopyTo(stream); });
        }
    }

    /// <summary>The dtypes a model can be saved in, by their command-line names (--save-dtype).</summary>
    public static readonly IReadOnlyDictionary<string, SafeTensorsDType> SaveDTypes = new Dictionary<string, SafeTensorsDType>
    {
        ["f32"] = SafeTensorsDType.F32, ["bf16"] = SafeTensorsDType.BF16, ["f16"] = SafeTensorsDType.F16,
    };

    /// <summary>config.json's torch_dtype for each dtype a model is saved in, as transformers writes it.</summary>
    private static readonly IReadOnlyDictionary<SafeTensorsDType, string> TorchDTypes = new Dictionary<SafeTensorsDType, string>
    {
        [SafeTensorsDType.F32] = "float32", [SafeTensorsDType.BF16] = "bfloat16", [SafeTensorsDType.F16] = "float16",
    };

    /// <summary>model.safetensors (float32) in directory, atomically, from a flat parameter array in the layout's order (small models: conversion).</summary>
    public static void WriteWeights(ParameterLayout layout, float[] parameters, string directory)
    {
        var tensors = layout.Entries
            .Select(entry => new TensorToWrite(entry.Name, entry.Shape.Select(d => (long)d).ToArray(),
                parameters.AsMemory(checked((int)entry.Start), entry.Length)))
            .ToArray();
        SafeTensorsWriter.Write(Path.Combine(directory, SafeTensorsCheckpoint.SingleFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
