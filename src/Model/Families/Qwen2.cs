using System.Text.Json.Nodes;

namespace SimNpo.Model.Families;

/// <summary>
/// Qwen2 and Qwen2.5 (Qwen2ForCausalLM): Llama's block with biases on q_proj, k_proj and v_proj (not o_proj). Its
/// config carries sliding_window with use_sliding_window false in every released model, and transformers then ignores
/// the window; use_sliding_window true (windows on the layers from max_window_layers on) is refused.
/// </summary>
public sealed class Qwen2() : ModelFamily("Qwen2", "Qwen2ForCausalLM", "qwen2", "Qwen2, Qwen2.5",
    new FamilyFeatures(AttentionBiases: AttentionBiases.QueryKeyValue), new ConfigDefaults(MaxPositions: 32768))
{
    internal override LlamaConfig ReadFeatures(ConfigReader reader, LlamaConfig config)
    {
        RequireActivation(reader, "hidden_act", null, "silu");
        RefuseFlag(reader, "use_sliding_window", "Qwen2's per-layer windows from max_window_layers on are not implemented");
        return config with { SlidingWindow = null };
    }

    internal override void WriteFeatures(JsonObject json, LlamaConfig config)
    {
        json["hidden_act"] = "silu";
        json["use_sliding_window"] = false;
    }
}
