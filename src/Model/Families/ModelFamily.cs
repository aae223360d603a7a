using System.Text.Json.Nodes;
using SimNpo.Kernels;

namespace SimNpo.Model.Families;

/// <summary>How a family normalises: Llama's RMSNorm, Gemma's RMSNorm scaled by (1 + w), or Phi's LayerNorm with a bias.</summary>
public enum NormKind { RmsNorm, RmsNormPlusOne, LayerNorm }

/// <summary>Which attention projections carry a bias: none (Llama), q/k/v (Qwen2), or all four including the output (Phi).</summary>
public enum AttentionBiases { None, QueryKeyValue, All }

/// <summary>
/// A family's tensor names without their ".weight"/".bias" suffix: the embedding, final norm and head by their full
/// names, the block's tensors relative to "model.layers.N.". A family without a second norm (a parallel block) or
/// without a gate (a plain MLP) has null there.
/// </summary>
public sealed record TensorNames(string Embedding, string InputNorm, string Query, string Key, string Value, string Output,
    string? PostAttentionNorm, string? Gate, string Up, string Down, string FinalNorm, string Head)
{
    public static string LayerPrefix(int layer) => $"model.layers.{layer}.";

    /// <summary>LlamaForCausalLM's names, which Mistral, Qwen2 and Gemma share.</summary>
    public static readonly TensorNames Llama = new("model.embed_tokens", "input_layernorm", "self_attn.q_proj", "self_attn.k_proj",
        "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", "model.norm", "lm_head");
}

/// <summary>What sets a family's graph apart from Llama's; the defaults are Llama's.</summary>
/// <param name="MlpBiases">Whether every MLP projection has a bias (Phi's fc1 and fc2).</param>
/// <param name="GatedMlp">down(act(gate)·up) when gated (SwiGLU, GeGLU); down(act(up)) otherwise (Phi's fc2(gelu(fc1))).</param>
/// <param name="ParallelBlock">out = x + attn(norm(x)) + mlp(norm(x)) from one norm (Phi), instead of attention then MLP each after its own norm.</param>
/// <param name="ScalesEmbedding">Whether the embeddings are multiplied by √hidden_size (Gemma).</param>
/// <param name="HeadBias">Whether lm_head has a bias (Phi).</param>
public sealed record FamilyFeatures(NormKind Norm = NormKind.RmsNorm, AttentionBiases AttentionBiases = AttentionBiases.None, bool MlpBiases = false,
    bool GatedMlp = true, Activation Activation = Activation.Silu, bool ParallelBlock = false, bool ScalesEmbedding = false, bool HeadBias = false);

/// <summary>
/// The defaults of transformers' config class for the keys a config.json may leave out: the norms' eps under its key,
/// tie_word_embeddings, max_position_embeddings, and head_dim (null: hidden/heads, as most families compute it).
/// </summary>
public sealed record ConfigDefaults(string NormEpsKey = "rms_norm_eps", double NormEps = 1e-6, bool TiedEmbeddings = false, int MaxPositions = 2048,
    int? HeadDim = null);

/// <summary>
/// One architecture of Hugging Face transformers that the engine runs: the features that choose the graph's ops, the
/// tensor names, and the config.json keys it reads beyond the common ones (and refuses where the engine lacks a
/// feature). One subclass per family in this folder; <see cref="ModelFamilies"/> lists them.
/// </summary>
/// <param name="name">The family's name for people: "Llama", "Phi".</param>
/// <param name="architecture">config.json's architectures[0]: "LlamaForCausalLM".</param>
/// <param name="modelType">config.json's model_type: "llama".</param>
/// <param name="models">The released models of the family, for the list of what is supported.</param>
public abstract class ModelFamily(string name, string architecture, string modelType, string models, FamilyFeatures features, ConfigDefaults defaults,
    TensorNames? names = null)
{
    public string Name => name;
    public string Architecture => architecture;
    public string ModelType => modelType;
    public string Models => models;
    public FamilyFeatures Features => features;
    public ConfigDefaults Defaults => defaults;
    public TensorNames Names => names ?? TensorNames.Llama;

    public NormKind Norm => features.Norm;
    public AttentionBiases AttentionBiases => features.AttentionBiases;
    public bool MlpBiases => features.MlpBiases;
    public bool GatedMlp => features.GatedMlp;
    public Activation Activation => features.Activation;
    public bool ParallelBlock => features.ParallelBlock;
    public bool ScalesEmbedding => features.ScalesEmbedding;
    public bool HeadBias => features.HeadBias;

    public bool HasAttentionBias(bool isOutput) => AttentionBiases == AttentionBiases.All || (AttentionBiases == AttentionBiases.QueryKeyValue && !isOutput);

    /// <summary>
    /// Reads the family's own config.json keys into a config read with the common ones, refusing with the key named any
    /// setting that changes the computation in a way the engine does not implement.
    /// </summary>
    internal abstract LlamaConfig ReadFeatures(ConfigReader reader, LlamaConfig config);

    /// <summary>Writes those keys back, as transformers' config class would, so that a saved config loads as the same model.</summary>
    internal abstract void WriteFeatures(JsonObject json, LlamaConfig config);

    /// <summary>The features that set this family's graph apart, as `simnpo info` lists them.</summary>
    public IReadOnlyList<(string Name, string Value)> Describe(LlamaConfig config) =>
    [
        ("family", $"{Name} ({Architecture})"),
        ("norm", Norm switch
        {
            NormKind.RmsNorm => "RMSNorm",
            NormKind.RmsNormPlusOne => "RMSNorm scaled by (1 + w)",
            _ => "LayerNorm with bias",
        } + $", eps {config.NormEps.ToString("0.###e+0", System.Globalization.CultureInfo.InvariantCulture)}"),
        ("attention biases", AttentionBiases switch
        {
            AttentionBiases.None => "none",
            AttentionBiases.QueryKeyValue => "q, k, v",
            _ => "q, k, v, output",
        }),
        ("mlp", GatedMlp
            ? $"gated: down({ActivationName}(gate) · up)" + (MlpBiases ? " with biases" : "")
            : $"down({ActivationName}(up))" + (MlpBiases ? " with biases" : "")),
        ("block", ParallelBlock ? "parallel: x + attention(norm(x)) + mlp(norm(x))" : "sequential: attention, then MLP, each after its own norm"),
        ("rotary dims", config.RotaryDim == config.HeadDim ? $"{config.RotaryDim} (all of head_dim)"
            : $"{config.RotaryDim} of head_dim {config.HeadDim} (partial_rotary_factor {config.PartialRotaryFactor})"),
        ("sliding window", config.SlidingWindow is { } window ? $"{window} tokens" : "none"),
        ("embedding scale", ScalesEmbedding ? $"x sqrt(hidden_size) = {Math.Sqrt(config.HiddenSize):G6}" : "none"),
        ("lm_head", (config.TieWordEmbeddings ? "tied to the embeddings" : "separate") + (HeadBias ? ", with bias" : "")),
    ];

    private string ActivationName => Activation == Activation.Silu ? "silu" : "gelu_tanh";

    /// <summary>Refuses hidden_act values other than those this family computes (transformers' names for the same function).</summary>
    private protected static void RequireActivation(ConfigReader reader, string key, string? fallback, params string[] accepted)
    {
        var value = reader.Text(key) ?? fallback;
        if (value is not null && !accepted.Contains(value))
            throw reader.Refuse($"{key} '{value}' is not supported (only {string.Join(" or ", accepted)})");
    }

    private protected static void RefuseFlag(ConfigReader reader, string key, string why)
    {
        if (reader.Flag(key, false)) throw reader.Refuse($"{key} = true is not supported ({why})");
    }
}
