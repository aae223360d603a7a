using System.Text.Json.Nodes;
using SimNpo.Kernels;

namespace SimNpo.Model.Families;

/// <summary>
/// Gemma (GemmaForCausalLM): embeddings multiplied by √hidden_size, RMSNorm output scaled by (1 + w) (its weights
/// start at 0), GeGLU MLP down(gelu_tanh(gate)·up), head_dim independent of hidden/heads (256 when absent, as
/// GemmaConfig defaults it), lm_head tied to the embeddings by default. Gemma-2 is another architecture
/// (Gemma2ForCausalLM) and is refused.
/// </summary>
public sealed class Gemma() : ModelFamily("Gemma", "GemmaForCausalLM", "gemma", "Gemma 2B, 7B (not Gemma-2)",
    new FamilyFeatures(NormKind.RmsNormPlusOne, Activation: Activation.GeluTanh, ScalesEmbedding: true),
    new ConfigDefaults(TiedEmbeddings: true, MaxPositions: 8192, HeadDim: 256))
{
    /// <summary>
    /// hidden_activation names the MLP's function when present; without it transformers' Gemma uses the tanh GELU
    /// whatever hidden_act says (the first released configs say "gelu" and mean it so).
    /// </summary>
    internal override LlamaConfig ReadFeatures(ConfigReader reader, LlamaConfig config)
    {
        if (reader.Text("hidden_activation") is not null)
            RequireActivation(reader, "hidden_activation", null, "gelu_pytorch_tanh", "gelu_new");
        else
            RequireActivation(reader, "hidden_act", null, "gelu", "gelu_pytorch_tanh", "gelu_new");
        RefuseFlag(reader, "attention_bias", "Gemma is run without projection biases");
        return config;
    }

    internal override void WriteFeatures(JsonObject json, LlamaConfig config)
    {
        json["hidden_act"] = "gelu_pytorch_tanh";
        json["hidden_activation"] = "gelu_pytorch_tanh";
    }
}
