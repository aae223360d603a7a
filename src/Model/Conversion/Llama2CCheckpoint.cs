using System.Runtime.InteropServices;
using SimNpo.Model.IO;

namespace SimNpo.Model.Conversion;

/// <summary>The seven int32 of a llama2.c checkpoint header. A negative VocabSize marks an untied output layer (wcls).</summary>
public sealed record Llama2CHeader(int Dim, int HiddenDim, int Layers, int Heads, int KvHeads, int VocabSize, int SeqLen)
{
    public const int Bytes = 7 * sizeof(int);

    public bool SharedWeights => VocabSize > 0;
    public int Vocab => Math.Abs(VocabSize);
    public int HeadSize => Dim / Heads;
    public int KvDim => HeadSize * KvHeads;

    /// <summary>The raw fields; safe to call on a header that failed validation.</summary>
    public string Describe() =>
        $"dim {Dim}, hidden_dim {HiddenDim}, n_layers {Layers}, n_heads {Heads}, n_kv_heads {KvHeads}, vocab_size {VocabSize}, seq_len {SeqLen}";

    /// <summary>llama2.c's fixed hyperparameters: RMSNorm eps 1e-5, RoPE theta 10000, BOS 1, EOS 2 (the config defaults but eps).</summary>
    public LlamaConfig ToConfig() =>
        LlamaConfig.Shaped(Dim, HiddenDim, Layers, Heads, KvHeads, HeadSize, Vocab, SeqLen) with { TieWordEmbeddings = SharedWeights };

    /// <summary>Floats after the header: the weights, the two legacy freq_cis tables, and wcls when untied.</summary>
    public long FloatCount()
    {
        long dim = Dim, hidden = HiddenDim, layers = Layers, vocab = Vocab, kvDim = KvDim;
        return vocab * dim                                  // token embedding
               + layers * (2 * dim                          // rms_att, rms_ffn
                           + 2 * dim * dim                  // wq, wo
                           + 2 * kvDim * dim                // wk, wv
                           + 3 * hidden * dim)              // w1, w2, w3
               + dim                                        // rms_final
               + (long)SeqLen * HeadSize                    // freq_cis_real and _imag, [seq_len, head_size / 2] each
               + (SharedWeights ? 0 : vocab * dim);         // wcls
    }
}

/// <summary>
/// A llama2.c model file (karpathy/llama2.c run.c, legacy version 0): the header, then float32 weights tensor by tensor,
/// stacked over layers, in llama2.c's rotary layout (adjacent pairs) and names.
/// </summary>
public sealed class Llama2CCheckpoint
{
    private Llama2CCheckpoint(Llama2CHeader header, Dictionary<string, float[]> tensors)
    {
        Header = header;
        Tensors = tensors;
    }

    public Llama2CHeader Header { get; }

    /// <summary>llama2.c's tensors by its own names (token_embedding, wq, ..., wcls), each stacked over layers where it has one per layer.</summary>
    public IReadOnlyDictionary<string, float[]> Tensors { get; }

    private const int MaxHeaderValue = 1 << 20;

    public static Llama2CCheckpoint Read(string path)
    {
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        using var stream = File.OpenRead(path);
        if (stream.Length < Llama2CHeader.Bytes)
            throw new BadInputException(path, $"{stream.Length} bytes is too short for a llama2.c checkpoint (the header alone is {Llama2CHeader.Bytes})");
        var fields = new int[7];
        stream.ReadExactly(MemoryMarshal.AsBytes(fields.AsSpan()));
        var header = new Llama2CHeader(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6]);
        Validate(header, path);
        var expected = Llama2CHeader.Bytes + 4 * header.FloatCount();
        if (stream.Length != expected)
            throw new BadInputException(path, $"the header ({header.Describe()}) describes {expected} bytes but the file has {stream.Length}");

        int dim = header.Dim, hidden = header.HiddenDim, layers = header.Layers, kvDim = header.KvDim;
        var tensors = new Dictionary<string, float[]>();
        float[] Next(string name, long length)
        {
            var values = new float[checked((int)length)];
            stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
            tensors[name] = values;
            return values;
        }
        Next("token_embedding", (long)header.Vocab * dim);
        Next("rms_att", (long)layers * dim);
        Next("wq", (long)layers * dim * dim);
        Next("wk", (long)layers * kvDim * dim);
        Next("wv", (long)layers * kvDim * dim);
        Next("wo", (long)layers * dim * dim);
        Next("rms_ffn", (long)layers * dim);
        Next("w1", (long)layers * hidden * dim);
        Next("w2", (long)layers * dim * hidden);
        Next("w3", (long)layers * hidden * dim);
        Next("rms_final", dim);
        stream.Seek((long)header.SeqLen * header.HeadSize * sizeof(float), SeekOrigin.Current);
        if (!header.SharedWeights) Next("wcls", (long)header.Vocab * dim);
        return new Llama2CCheckpoint(header, tensors);
    }

    private static void Validate(Llama2CHeader header, string path)
    {
        void Require(bool condition, string problem)
        {
            if (!condition) throw new BadInputException(path, $"not a llama2.c checkpoint: {problem} (header: {header.Describe()})");
        }
        Require(header.Dim > 0 && header.HiddenDim > 0 && header.Layers > 0 && header.Heads > 0 && header.KvHeads > 0
                && header.VocabSize is not (0 or int.MinValue) && header.SeqLen > 0, "every header value must be positive (vocab_size nonzero)");
        // The bound keeps every size product below 2^63; no real model comes near it.
        Require(new[] { header.Dim, header.HiddenDim, header.Layers, header.Heads, header.Vocab, header.SeqLen }.All(value => value <= MaxHeaderValue),
            $"a header value above {MaxHeaderValue} is not a plausible model size");
        Require(header.Dim % header.Heads == 0 && header.HeadSize % 2 == 0, "dim must be a multiple of n_heads with an even head size");
        Require(header.Heads % header.KvHeads == 0, "n_heads must be a multiple of n_kv_heads");
        // Each tensor becomes one float array, and llama2.c's own loader has the same int-sized limits.
        Require(new[] { (long)header.Vocab * header.Dim, (long)header.Layers * header.HiddenDim * header.Dim, (long)header.Layers * header.Dim * header.Dim }
                .All(length => length <= Array.MaxLength), "a tensor is larger than one array can hold");
    }
}
