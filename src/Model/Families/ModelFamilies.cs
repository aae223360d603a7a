namespace SimNpo.Model.Families;

/// <summary>The families the engine runs, found by config.json's architecture or model_type.</summary>
public static class ModelFamilies
{
    public static readonly IReadOnlyList<ModelFamily> All = [new Llama(), new Mistral(), new Qwen2(), new Phi(), new Gemma()];

    /// <summary>Architectures refused with a reason beyond "unknown": a neighbour of a supported family.</summary>
    private static readonly IReadOnlyDictionary<string, string> KnownUnsupported = new Dictionary<string, string>
    {
        ["Gemma2ForCausalLM"] = "Gemma-2's logit soft-capping, alternating sliding-window layers and extra norms are not implemented",
        ["Phi3ForCausalLM"] = "Phi-3's fused qkv and gate_up projections are not implemented",
    };

    /// <summary>"LlamaForCausalLM (Llama 1/2/3, …), …": what an unsupported architecture's message lists.</summary>
    public static string Supported => string.Join(", ", All.Select(family => $"{family.Architecture} ({family.Models})"));

    public static ModelFamily? Find(string architecture) => All.FirstOrDefault(family => family.Architecture == architecture);

    /// <summary>The family of a config.json that names no architecture, by its model_type.</summary>
    public static string? ArchitectureOf(string modelType) => All.FirstOrDefault(family => family.ModelType == modelType)?.Architecture
        ?? (modelType == "gemma2" ? "Gemma2ForCausalLM" : null);

    /// <summary>The message refusing an architecture: that it is not supported, why where known, and what is.</summary>
    public static string Unsupported(string architecture) =>
        $"architecture '{architecture}' is not supported{(KnownUnsupported.TryGetValue(architecture, out var why) ? $": {why}" : "")} "
        + $"(supported: {Supported})";
}
