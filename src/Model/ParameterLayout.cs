using SimNpo.Model.Families;

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

/// <summary>A linear layer's weight [out, in] and, in the families that have one, its bias [out].</summary>
public sealed record LinearParameters(ParameterEntry Weight, ParameterEntry? Bias);

/// <summary>A norm's weight and, for a LayerNorm, its bias.</summary>
public sealed record NormParameters(ParameterEntry Weight, ParameterEntry? Bias);

/// <summary>
/// The tensors of one transformer block. A parallel block (Phi) has no PostAttentionNorm: attention and MLP read the
/// input norm's output. A plain MLP (Phi) has no Gate: Up is its first projection (fc1), Down its second (fc2).
/// </summary>
public sealed record LayerParameters(
    NormParameters InputNorm, LinearParameters Query, LinearParameters Key, LinearParameters Value, LinearParameters Output,
    NormParameters? PostAttentionNorm, LinearParameters? Gate, LinearParameters Up, LinearParameters Down);

/// <summary>
/// Where every parameter of a model lives, in a fixed order under its Hugging Face name: consecutive tensors are
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
        var family = config.Family;
        var names = family.Names;
        NormParameters Norm(string name) =>
            new(Add(name + ".weight", hidden), family.Norm == NormKind.LayerNorm ? Add(name + ".bias", hidden) : null);
        LinearParameters Linear(string name, int outDim, int inDim, bool bias) =>
            new(Add(name + ".weight", outDim, inDim), bias ? Add(name + ".bias", outDim) : null);

        Embedding = Add(names.Embedding + ".weight", config.VocabSize, hidden);
        var layers = new List<LayerParameters>();
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            var prefix = TensorNames.LayerPrefix(i);
            bool attentionBias = family.HasAttentionBias(isOutput: false), outputBias = family.HasAttentionBias(isOutput: true), mlpBias = family.MlpBiases;
            layers.Add(new LayerParameters(
                Norm(prefix + names.InputNorm),
                Linear(prefix + names.Query, config.QueryWidth, hidden, attentionBias),
                Linear(prefix + names.Key, config.KvWidth, hidden, attentionBias),
                Linear(prefix + names.Value, config.KvWidth, hidden, attentionBias),
                Linear(prefix + names.Output, hidden, config.QueryWidth, outputBias),
                family.ParallelBlock ? null : Norm(prefix + names.PostAttentionNorm!),
                family.GatedMlp ? Linear(prefix + names.Gate!, ffn, hidden, mlpBias) : null,
                Linear(prefix + names.Up, ffn, hidden, mlpBias),
                Linear(prefix + names.Down, hidden, ffn, mlpBias)));
        }
        Layers = layers;
        FinalNorm = Norm(names.FinalNorm);
        // A tied model has no head weight of its own: the output projection reads the embedding table (a head bias stays its own).
        OutputProjection = config.TieWordEmbeddings ? Embedding : Add(names.Head + ".weight", config.VocabSize, hidden);
        OutputBias = family.HeadBias ? Add(names.Head + ".bias", config.VocabSize) : null;
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
    public NormParameters FinalNorm { get; }
    public ParameterEntry OutputProjection { get; }
    /// <summary>lm_head's bias (Phi); null in the families without one.</summary>
    public ParameterEntry? OutputBias { get; }

    /// <summary>The entries of one chunk, in order.</summary>
    public IEnumerable<ParameterEntry> EntriesOf(int chunk) => Entries.Where(entry => entry.Chunk == chunk);

    /// <summary>A norm's weight (every family names its norms "…norm.weight"): 1 in a fresh model (0 in Gemma's, which scales by 1 + w).</summary>
    public static bool IsNormWeight(string name) => name.EndsWith("norm.weight", StringComparison.Ordinal);

    /// <summary>A bias of a linear layer or a LayerNorm: 0 in a fresh model.</summary>
    public static bool IsBias(string name) => name.EndsWith(".bias", StringComparison.Ordinal);
}
