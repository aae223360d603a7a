using System.Text.Json.Nodes;
using SimNpo.Kernels;

namespace SimNpo.Model.Families;

/// <summary>
/// Phi-1.5 and Phi-2 (PhiForCausalLM): one LayerNorm (weight and bias, layer_norm_eps) feeding attention and MLP in
/// parallel, out = x + attn(h) + mlp(h); biases on q_proj, k_proj, v_proj and dense; rotary embedding on the first
/// int(head_dim · partial_rotary_factor) dims of each head; MLP fc2(gelu_new(fc1(h))) with biases; final_layernorm;
/// lm_head with a bias. qk_layernorm true (a LayerNorm on queries and keys) is refused.
/// </summary>
public sealed class Phi() : ModelFamily("Phi", "PhiForCausalLM", "phi", "Phi-1, Phi-1.5, Phi-2",
    new FamilyFeatures(NormKind.LayerNorm, AttentionBiases.All, MlpBiases: true, GatedMlp: false, Activation.GeluTanh, ParallelBlock: true, HeadBias: true),
    new ConfigDefaults(NormEpsKey: "layer_norm_eps", NormEps: 1e-5),
    TensorNames.Llama with
    {
        Output = "self_attn.dense", PostAttentionNorm = null, Gate = null, Up = "mlp.fc1", Down = "mlp.fc2", FinalNorm = "model.final_layernorm",
    })
{
    /// <summary>gelu_new and gelu_pytorch_tanh are the same tanh approximation of GELU in transformers.</summary>
    internal override LlamaConfig ReadFeatures(ConfigReader reader, LlamaConfig config)
    {
        RequireActivation(reader, "hidden_act", "gelu_new", "gelu_new", "gelu_pytorch_tanh");
        RefuseFlag(reader, "qk_layernorm", "a LayerNorm on queries and keys is not implemented");
        return config with { PartialRotaryFactor = reader.Number("partial_rotary_factor", 0.5) };
    }

    internal override void WriteFeatures(JsonObject json, LlamaConfig config)
    {
        json["hidden_act"] = "gelu_new";
        json["qk_layernorm"] = false;
        json["partial_rotary_factor"] = config.PartialRotaryFactor;
    }
}
