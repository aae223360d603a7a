using SimNpo.Model;

namespace SimNpo.Unlearn.Performance;

/// <summary>A model shape to measure with, the batch it runs by default, and whether its step recomputes layers.</summary>
public sealed record BenchmarkShape(string Name, LlamaConfig Config, int BatchSize, int SequenceLength, Recompute Recompute = Recompute.None)
{
    public int Tokens => BatchSize * SequenceLength;
}

/// <summary>
/// Named model shapes for profiling and benchmarks, with random weights: no download needed. The first four are the
/// llama2.c TinyStories models (stories260K, stories15M, stories42M as "mid", stories110M: tied embeddings, RMSNorm eps
/// 1e-5, RoPE theta 10000, one kv head per head except stories260K); "1B" is Llama-3.2-1B's config.json, "7B"
/// Llama-2-7B's (the paper's models; a GPU step of its own: run it with --recompute layers to fit one GPU).
/// Default batches are sized for a CPU step of seconds, not minutes: 8 × 512 (stories260K), 8 × 256 (15M), 8 × 256 (mid),
/// 4 × 512 (110M), and 4 × 512 for 1B, a GPU's shape (25 GB with AdamW; at 8 × 512 its activations would pass the 2³¹
/// elements one buffer holds).
/// </summary>
public static class BenchmarkModels
{
    public static readonly BenchmarkShape[] All =
    [
        new("stories260K", Stories(dim: 64, ffn: 172, layers: 5, heads: 8, kvHeads: 4, vocab: 512, maxPositions: 512), 8, 512),
        new("15M", Stories(dim: 288, ffn: 768, layers: 6, heads: 6, kvHeads: 6, vocab: 32000, maxPositions: 256), 8, 256),
        new("mid", Stories(dim: 512, ffn: 1376, layers: 8, heads: 8, kvHeads: 8, vocab: 32000, maxPositions: 1024), 8, 256),
        new("110M", Stories(dim: 768, ffn: 2048, layers: 12, heads: 12, kvHeads: 12, vocab: 32000, maxPositions: 1024), 4, 512),
        new("1B", Llama32OneB(), 4, 512),
        // meta-llama/Llama-2-7b-hf's config.json: the llama2.c family's hyperparameters at 7B, its head untied.
        new("7B", Stories(dim: 4096, ffn: 11008, layers: 32, heads: 32, kvHeads: 32, vocab: 32000, maxPositions: 4096) with { TieWordEmbeddings = false }, 4,
            512),
    ];

    public static IEnumerable<string> Names => All.Select(shape => shape.Name);

    /// <summary>The named shape, its batch and sequence length replaced where given (<see cref="SyntheticStep"/> checks them).</summary>
    public static BenchmarkShape Get(string name, int? batchSize = null, int? sequenceLength = null, Recompute? recompute = null)
    {
        var shape = All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"unknown model shape '{name}' (choose one of: {string.Join(", ", Names)})");
        return shape with { BatchSize = batchSize ?? shape.BatchSize, SequenceLength = sequenceLength ?? shape.SequenceLength,
            Recompute = recompute ?? shape.Recompute };
    }

    /// <summary>RoPE theta 10000 is the default.</summary>
    private static LlamaConfig Stories(int dim, int ffn, int layers, int heads, int kvHeads, int vocab, int maxPositions) =>
        LlamaConfig.Shaped(dim, ffn, layers, heads, kvHeads, headDim: dim / heads, vocab, maxPositions) with { TieWordEmbeddings = true };

    /// <summary>meta-llama/Llama-3.2-1B's config.json.</summary>
    private static LlamaConfig Llama32OneB() =>
        LlamaConfig.Shaped(hidden: 2048, intermediate: 8192, layers: 16, heads: 32, kvHeads: 8, headDim: 64, vocab: 128256, maxPositions: 131072) with
        {
            RopeTheta = 500000,
            RopeScaling = new Llama3RopeScaling(Factor: 32, LowFrequencyFactor: 1, HighFrequencyFactor: 4, OriginalMaxPositionEmbeddings: 8192),
            TieWordEmbeddings = true,
            BosTokenId = 128000,
            EosTokenId = 128001,
        };
}
