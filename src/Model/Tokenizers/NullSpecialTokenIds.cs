using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Model.IO;

namespace SimNpo.Model.Tokenizers;

/// <summary>
/// Phi-1.5 and Phi-2 write bos_token_id and eos_token_id as null in config.json: the ids are the tokenizer's
/// (tokenizer_config.json's bos_token and eos_token, &lt;|endoftext|&gt; = 50256), which TOFU's code uses to end and pad
/// answers. The config fallbacks 1 and 2 would be ordinary tokens there ('"' and '#'), so a null id is looked up.
/// </summary>
public static class NullSpecialTokenIds
{
    public const string TokenizerConfigFileName = "tokenizer_config.json";

    /// <summary>The config with each id that config.json gives as null replaced by the tokenizer's; unchanged without a tokenizer.</summary>
    public static LlamaConfig FromTokenizer(JsonObject configJson, LlamaConfig config, string modelDirectory)
    {
        bool IsNull(string key) => configJson.TryGetPropertyValue(key, out var value) && value is null;
        var tokenizerConfigPath = Path.Combine(modelDirectory, TokenizerConfigFileName);
        if (!IsNull("bos_token_id") && !IsNull("eos_token_id") || !File.Exists(tokenizerConfigPath) || !TokenizerLoader.HasTokenizer(modelDirectory))
            return config;
        var tokenizerConfig = JsonFile.ReadObject(tokenizerConfigPath);
        var tokenizer = TokenizerLoader.Load(modelDirectory, config);
        int IdOr(string key, int fallback)
        {
            if (TokenText(tokenizerConfig[key], tokenizerConfigPath, key) is not { } text) return fallback;
            return tokenizer.TokenId(text) ?? throw new BadInputException(tokenizerConfigPath, $"'{key}' {text} is not a token of the model's tokenizer");
        }
        var resolved = config with
        {
            BosTokenId = IsNull("bos_token_id") ? IdOr("bos_token", config.BosTokenId) : config.BosTokenId,
            EosTokenId = IsNull("eos_token_id") ? IdOr("eos_token", config.EosTokenId) : config.EosTokenId,
        };
        resolved.Validate(tokenizerConfigPath);
        return resolved;
    }

    /// <summary>A special token as tokenizer_config.json writes it: its text, or an AddedToken object with its "content".</summary>
    private static string? TokenText(JsonNode? node, string path, string key) => node switch
    {
        null => null,
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        JsonObject token when token["content"] is JsonValue content && content.GetValueKind() == JsonValueKind.String => content.GetValue<string>(),
        _ => throw new BadInputException(path, $"'{key}' must be a token's text or an object with its \"content\", got {node.ToJsonString()}"),
    };
}
