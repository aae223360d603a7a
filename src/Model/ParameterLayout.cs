namespace SimNpo.Model;

/// <summary>
/// One named parameter tensor: its Hugging Face name and shape; <see cref="Start"/> is its place in the model's order
/// (64-bit: a 7B model's order runs past 2³¹), <see cref="Chunk"/> and <see cref="ChunkOffset"/> where it sits in the
/// chunked parameter buffers. A tensor is never split across chunks.
/// </summary>
public sealed record ParameterEntry(string Name, int[] Shape, long Start, int Chunk, int ChunkOffset)
{
    public int Length { get; } = ElementCount(Name, Shape);

    private static int ElementCount(string name, int[] shape)
    {
        var count = shape.Aggregate(1L, (product, dim) => product * dim);
        if (count > Array.MaxLength)
            throw new NotSupportedException($"tensor '{name}' of {count} elements is larger than one buffer holds ({Array.MaxLength})");
        return (int)count;
    }
}

/// <summary>The tensors of one transformer block.</summary>
public sealed record LayerParameters(
    ParameterEntry InputNorm, ParameterEntry Query, ParameterEntry Key, ParameterEntry Value, ParameterEntry Output,
    ParameterEntry PostAttentionNorm, ParameterEntry Gate, ParameterEntry Up, ParameterEntry Down);

/// <summary>
/// Where every parameter of a Llama model lives, in a fixed order under its Hugging Face name: consecutive tensors are
/// packed into chunks of at most <see cref="MaxChunkLength"/> elements (a tensor larger than that gets a chunk of its
/// own), so a model of any size is a few buffers that each stay under the 2³¹ elements one buffer can index.
/// Gradients, master weights and AdamW moments use the same layout, so one entry addresses all of them.
/// </summary>
public sealed class ParameterLayout
{
    /// <summary>
    /// 2³⁰ elements: 2 GiB of bfloat16 or 4 GiB of float32 per buffer, so a 7B model is about seven chunks (few ops per
    /// step over all parameters) while a tensor of up to 2³¹ elements still fits a chunk of its own.
    /// </summary>
    public const int DefaultChunkLength = 1 << 30;

    public ParameterLayout(LlamaConfig config, int maxChunkLength = DefaultChunkLength)
    {
        if (maxChunkLength < 1) throw new ArgumentOutOfRangeException(nameof(maxChunkLength), $"chunks must hold at least one element, got {maxChunkLength}");
        MaxChunkLength = maxChunkLength;
        var entries = new List<ParameterEntry>();
        var chunks = new List<int>();
        var start = 0L;
        ParameterEntry Add(string name, params int[] shape)
        {
            var count = shape.Aggregate(1L, (product, dim) => product * dim);
            // A new chunk when this tensor would overflow the current one (an empty chunk takes any tensor).
            if (chunks.Count == 0 || (chunks[^1] > 0 && chunks[^1] + count > maxChunkLength)) chunks.Add(0);
            var entry = new ParameterEntry(name, shape, start, chunks.Count - 1, chunks[^1]);
            chunks[^1] += entry.Length;
            start += entry.Length;
            entries.Add(entry);
            return entry;
        }

        int hidden = config.HiddenSize, ffn = config.IntermediateSize;
        Embedding = Add("model.embed_tokens.weight", config.VocabSize, hidden);
        var layers = new List<LayerParameters>();
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            var prefix = $"model.layers.{i}.";
            layers.Add(new LayerParameters(
                Add(prefix + "input_layernorm.weight", hidden),
                Add(prefix + "self_attn.q_proj.weight", config.QueryWidth, hidden),
                Add(prefix + "self_attn.k_proj.weight", config.KvWidth, hidden),
                Add(prefix + "self_attn.v_proj.weight", config.KvWidth, hidden),
                Add(prefix + "self_attn.o_proj.weight", hidden, config.QueryWidth),
                Add(prefix + "post_attention_layernorm.weight", hidden),
                Add(prefix + "mlp.gate_proj.weight", ffn, hidden),
                Add(prefix + "mlp.up_proj.weight", ffn, hidden),
                Add(prefix + "mlp.down_proj.weight", hidden, ffn)));
        }
        Layers = layers;
        FinalNorm = Add("model.norm.weight", hidden);
        // A tied model has no lm_head tensor: the output projection reads the embedding table.
        OutputProjection = config.TieWordEmbeddings ? Embedding : Add("lm_head.weight", config.VocabSize, hidden);
        Entries = entries;
        ChunkLengths = chunks;
        TotalLength = start;
        ByName = entries.ToDictionary(entry => entry.Name);
    }

    public IReadOnlyList<ParameterEntry> Entries { get; }
    public IReadOnlyDictionary<string, ParameterEntry> ByName { get; }

    /// <summary>The number of parameters.</summary>
    public long TotalLength { get; }

    /// <summary>Parameters of a model of this config (a tied head once): what a memory plan needs.</summary>
    public static long Count(LlamaConfig config) => new ParameterLayout(config).TotalLength;

    public int MaxChunkLength { get; }

    /// <summary>The element count of each chunk, in order; their sum is <see cref="TotalLength"/>.</summary>
    public IReadOnlyList<int> ChunkLengths { get; }

    public ParameterEntry Embedding { get; }
    public IReadOnlyList<LayerParameters> Layers { get; }
    public ParameterEntry FinalNorm { get; }
    public ParameterEntry OutputProjection { get; }

    /// <summary>The entries of one chunk, in order.</summary>
    public IEnumerable<ParameterEntry> EntriesOf(int chunk) => Entries.Where(entry => entry.Chunk == chunk);

    /// <summary>The norms' weights start at 1 in a fresh model; every other tensor is random.</summary>
    public static bool IsNormWeight(string name) => name.EndsWith("norm.weight", StringComparison.Ordinal);
}
