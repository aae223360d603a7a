namespace SimNpo.Model;

/// <summary>One named parameter tensor: its Hugging Face name, shape, and where it sits in the flat parameter buffer.</summary>
public sealed record ParameterEntry(string Name, int[] Shape, int Offset)
{
    public int Length { get; } = Shape.Aggregate(1, (product, dim) => product * dim);
}

/// <summary>The tensors of one transformer block, as offsets into the flat parameter buffer.</summary>
public sealed record LayerParameters(
    ParameterEntry InputNorm, ParameterEntry Query, ParameterEntry Key, ParameterEntry Value, ParameterEntry Output,
    ParameterEntry PostAttentionNorm, ParameterEntry Gate, ParameterEntry Up, ParameterEntry Down);

/// <summary>
/// Where every parameter of a Llama model lives in one contiguous buffer, in a fixed order, under its Hugging Face
/// name. Gradients and AdamW moments use the same layout, so one offset addresses all four.
/// </summary>
public sealed class ParameterLayout
{
    public ParameterLayout(LlamaConfig config)
    {
        var entries = new List<ParameterEntry>();
        var offset = 0L;
        (Embedding, Layers, FinalNorm, OutputProjection) = Place(config, (name, shape) =>
        {
            var entry = new ParameterEntry(name, shape, checked((int)offset));
            offset += Elements(shape);
            if (offset > Array.MaxLength)
                throw new NotSupportedException($"a model of more than {Array.MaxLength} parameters does not fit one float32 buffer");
            entries.Add(entry);
            return entry;
        });
        Entries = entries;
        TotalLength = (int)offset;
        ByName = entries.ToDictionary(entry => entry.Name);
    }

    /// <summary>
    /// Parameters of a model of this config, counted in 64 bits over the very tensors the layout places (a tied head
    /// once): what a memory plan needs, also for a model larger than one buffer holds.
    /// </summary>
    public static long Count(LlamaConfig config)
    {
        var count = 0L;
        Place(config, (_, shape) =>
        {
            count += Elements(shape);
            return null!; // counting only: no entry is kept
        });
        return count;
    }

    private static long Elements(int[] shape) => shape.Aggregate(1L, (product, dim) => product * dim);

    /// <summary>Every tensor in layout order, each through add.</summary>
    private static (ParameterEntry Embedding, IReadOnlyList<LayerParameters> Layers, ParameterEntry FinalNorm, ParameterEntry OutputProjection) Place(
        LlamaConfig config, Func<string, int[], ParameterEntry> add)
    {
        int hidden = config.HiddenSize, ffn = config.IntermediateSize;
        var embedding = add("model.embed_tokens.weight", [config.VocabSize, hidden]);
        var layers = new List<LayerParameters>();
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            var prefix = $"model.layers.{i}.";
            layers.Add(new LayerParameters(
                add(prefix + "input_layernorm.weight", [hidden]),
                add(prefix + "self_attn.q_proj.weight", [config.QueryWidth, hidden]),
                add(prefix + "self_attn.k_proj.weight", [config.KvWidth, hidden]),
                add(prefix + "self_attn.v_proj.weight", [config.KvWidth, hidden]),
                add(prefix + "self_attn.o_proj.weight", [hidden, config.QueryWidth]),
                add(prefix + "post_attention_layernorm.weight", [hidden]),
                add(prefix + "mlp.gate_proj.weight", [ffn, hidden]),
                add(prefix + "mlp.up_proj.weight", [ffn, hidden]),
                add(prefix + "mlp.down_proj.weight", [hidden, ffn])));
        }
        var finalNorm = add("model.norm.weight", [hidden]);
        // A tied model has no lm_head tensor: the output projection reads the embedding table.
        var outputProjection = config.TieWordEmbeddings ? embedding : add("lm_head.weight", [config.VocabSize, hidden]);
        return (embedding, layers, finalNorm, outputProjection);
    }

    public IReadOnlyList<ParameterEntry> Entries { get; }
    public IReadOnlyDictionary<string, ParameterEntry> ByName { get; }
    public int TotalLength { get; }
    public ParameterEntry Embedding { get; }
    public IReadOnlyList<LayerParameters> Layers { get; }
    public ParameterEntry FinalNorm { get; }
    public ParameterEntry OutputProjection { get; }

    /// <summary>The norms' weights start at 1 in a fresh model; every other tensor is random.</summary>
    public static bool IsNormWeight(string name) => name.EndsWith("norm.weight", StringComparison.Ordinal);
}
