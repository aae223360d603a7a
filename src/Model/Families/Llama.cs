using System.Text.Json.Nodes;

namespace SimNpo.Model.Families;

/// <summary>
/// Llama 1, 2 and 3 (LlamaForCausalLM): RMSNorm, SwiGLU MLP, no biases, Llama 3's "llama3" rope_scaling. A
/// sliding_window in config.json is honoured as the engine always has (transformers' Llama has none to read).
/// </summary>
public class Llama : ModelFamily
{
    public Llama() : this("Llama", "LlamaForCausalLM", "llama", "Llama 1/2/3/3.1/3.2, TinyLlama, llama2.c", new ConfigDefaults())
    {
    }

    private protected Llama(string name, string architecture, string modelType, string models, ConfigDefaults defaults)
        : base(name, architecture, modelType, models, new FamilyFeatures(), defaults)
    {
    }

    internal override LlamaConfig ReadFeatures(ConfigReader reader, LlamaConfig config)
    {
        RequireActivation(reader, "hidden_act", null, "silu");
        RefuseFlag(reader, "attention_bias", "this family is run without projection biases");
        RefuseFlag(reader, "mlp_bias", "this family is run without projection biases");
        return config with { SlidingWindow = reader.OptionalInt("sliding_window") };
    }

    internal override void WriteFeatures(JsonObject json, LlamaConfig config)
    {
        json["hidden_act"] = "silu";
        json["attention_bias"] = false;
        json["mlp_bias"] = false;
        if (config.SlidingWindow is { } window) json["sliding_window"] = window;
    }
}

/// <summary>
/// Mistral and Zephyr (MistralForCausalLM): Llama's block with sliding-window attention over sliding_window tokens
/// (null: the whole sequence); the attention ops do the masking, this family only carries the value.
/// </summary>
public sealed class Mistral() : Llama("Mistral", "MistralForCausalLM", "mistral", "Mistral 7B, Zephyr 7B", new ConfigDefaults(MaxPositions: 4096 * 32));
