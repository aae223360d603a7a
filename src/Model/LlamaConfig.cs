using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Kernels;
using SimNpo.Model.IO;

namespace SimNpo.Model;

/// <summary>The "llama3" rope_scaling of Hugging Face: long wavelengths slowed by Factor, short ones kept, a smooth band between.</summary>
public sealed record Llama3RopeScaling(double Factor, double LowFrequencyFactor, double HighFrequencyFactor, int OriginalMaxPositionEmbeddings);

/// <summary>
/// The fields of a Hugging Face Llama-family config.json that define the computation. Anything the engine does not
/// implement (biases, other activations, other rope scalings) is refused rather than ignored. A sliding window
/// (Mistral-7B-v0.1, Zephyr) is honoured: every attention call carries it (<see cref="Attention"/>), in training,
/// evaluation and generation alike.
/// </summary>
public sealed record LlamaConfig
{
    public static readonly string[] SupportedArchitectures = ["LlamaForCausalLM", "MistralForCausalLM"];

    public string Architecture { get; init; } = "LlamaForCausalLM";
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int VocabSize { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    public Llama3RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public int BosTokenId { get; init; } = 1;
    public int EosTokenId { get; init; } = 2;
    /// <summary>Further end-of-sequence ids (Llama 3's eos_token_id list after its first): generation stops on these too.</summary>
    public TokenIdList? OtherEosTokenIds { get; init; }
    /// <summary>How many keys a token attends to, itself included (Mistral's sliding_window); null: the whole sequence.</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>
    /// The longest sequence the engine computes as the model defines it: max_position_embeddings (a sliding window
    /// does not limit it; attention honours the window at any length).
    /// </summary>
    public int MaxSequenceLength => MaxPositionEmbeddings;

    /// <summary>What limits <see cref="MaxSequenceLength"/>, in config.json's words, for messages.</summary>
    public string MaxSequenceLengthSource => $"max_position_embeddings {MaxPositionEmbeddings}";

    public bool IsEndOfSequence(int token) => token == EosTokenId || OtherEosTokenIds?.Contains(token) == true;

    /// <summary>
    /// A model of the given shape with llama2.c's RMSNorm eps (1e-5) and the defaults above otherwise: the synthetic models
    /// of the benchmarks and tests, which no config.json describes. Anything else is set with a with-expression.
    /// </summary>
    public static LlamaConfig Shaped(int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim, int vocab, int maxPositions) => new()
    {
        HiddenSize = hidden, IntermediateSize = intermediate, NumHiddenLayers = layers, NumAttentionHeads = heads, NumKeyValueHeads = kvHeads,
        HeadDim = headDim, VocabSize = vocab, RmsNormEps = 1e-5, MaxPositionEmbeddings = maxPositions,
    };

    public int QueryWidth => NumAttentionHeads * HeadDim;
    public int KvWidth => NumKeyValueHeads * HeadDim;

    /// <summary>
    /// The shape of an attention call with this model's heads and sliding window (<see cref="AttentionShape"/> says what
    /// each length is).
    /// </summary>
    public AttentionShape Attention(int batch, int queryLength, int keyLength, int queryStart = 0) =>
        new(batch, queryLength, keyLength, NumAttentionHeads, NumKeyValueHeads, HeadDim, queryStart, SlidingWindow ?? 0);

    /// <summary>Throws with the problem named when the numbers do not describe a model the engine can run.</summary>
    public void Validate(string source)
    {
        void Require(bool condition, string problem)
        {
            if (!condition) throw new BadInputException(source, problem);
        }
        Require(SupportedArchitectures.Contains(Architecture),
            $"architecture '{Architecture}' is not supported (supported: {string.Join(", ", SupportedArchitectures)})");
        Require(HiddenSize > 0 && IntermediateSize > 0 && NumHiddenLayers > 0 && NumAttentionHeads > 0 && VocabSize > 0 && HeadDim > 0,
            "hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, head_dim and vocab_size must be positive");
        Require(NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads == 0,
            $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads})");
        Require(HeadDim % 2 == 0, $"head_dim ({HeadDim}) must be even for rotary embeddings");
        Require(RmsNormEps > 0, "rms_norm_eps must be positive");
        Require(RopeTheta > 0, "rope_theta must be positive");
        Require(MaxPositionEmbeddings > 0, "max_position_embeddings must be positive");
        Require(BosTokenId >= 0 && BosTokenId < VocabSize, $"bos_token_id {BosTokenId} is outside the vocabulary of {VocabSize}");
        foreach (var eos in (OtherEosTokenIds?.Ids ?? []).Prepend(EosTokenId))
            Require(eos >= 0 && eos < VocabSize, $"eos_token_id {eos} is outside the vocabulary of {VocabSize}");
        Require(SlidingWindow is null or > 0, $"sliding_window ({SlidingWindow}) must be positive or null");
        if (RopeScaling is { } scaling)
            Require(scaling.Factor > 0 && scaling.LowFrequencyFactor > 0 && scaling.HighFrequencyFactor > scaling.LowFrequencyFactor
                && scaling.OriginalMaxPositionEmbeddings > 0,
                "rope_scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0");
    }

    public static LlamaConfig Load(string path)
    {
        return FromJson(JsonFile.ReadObject(path), path);
    }

    public static LlamaConfig FromJson(JsonObject json, string source)
    {
        var reader = new ConfigReader(json, source);
        var architectures = json["architectures"] as JsonArray;
        var architecture = architectures is { Count: > 0 } ? ArchitectureName(architectures, source) : reader.Text("model_type") switch
        {
            "llama" => "LlamaForCausalLM",
            "mistral" => "MistralForCausalLM",
            var other => other ?? throw new BadInputException(source, "neither 'architectures' nor 'model_type' is given"),
        };
        if (reader.Text("hidden_act") is { } activation && activation != "silu")
            throw new BadInputException(source, $"hidden_act '{activation}' is not supported (only silu)");
        foreach (var bias in new[] { "attention_bias", "mlp_bias" })
            if (reader.Flag(bias, false)) throw new BadInputException(source, $"{bias} = true is not supported");

        var hidden = reader.Int("hidden_size");
        var heads = reader.Int("num_attention_heads");
        if (heads > 0 && json["head_dim"] is null && hidden % heads != 0)
            throw new BadInputException(source, $"hidden_size ({hidden}) is not a multiple of num_attention_heads ({heads}) and no head_dim is given");
        var eosTokenIds = reader.TokenIds("eos_token_id", 2);
        var config = new LlamaConfig
        {
            Architecture = architecture,
            HiddenSize = hidden,
            IntermediateSize = reader.Int("intermediate_size"),
            NumHiddenLayers = reader.Int("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = reader.Int("num_key_value_heads", heads),
            HeadDim = reader.Int("head_dim", heads > 0 ? hidden / heads : 0),
            VocabSize = reader.Int("vocab_size"),
            RmsNormEps = reader.Number("rms_norm_eps", 1e-6),
            RopeTheta = reader.Number("rope_theta", 10000),
            RopeScaling = ReadRopeScaling(json["rope_scaling"], source),
            TieWordEmbeddings = reader.Flag("tie_word_embeddings", false),
            MaxPositionEmbeddings = reader.Int("max_position_embeddings", 2048),
            BosTokenId = reader.TokenIds("bos_token_id", 1)[0],
            EosTokenId = eosTokenIds[0],
            OtherEosTokenIds = eosTokenIds.Length > 1 ? new TokenIdList(eosTokenIds[1..]) : null,
            SlidingWindow = reader.OptionalInt("sliding_window"),
        };
        config.Validate(source);
        return config;
    }

    private static string ArchitectureName(JsonArray architectures, string source) =>
        architectures[0] is JsonValue first && first.GetValueKind() == JsonValueKind.String
            ? first.GetValue<string>()
            : throw new BadInputException(source, $"'architectures' must be a list of class names, got {architectures.ToJsonString()}");

    private static Llama3RopeScaling? ReadRopeScaling(JsonNode? node, string source)
    {
        if (node is null || node.GetValueKind() == JsonValueKind.Null) return null;
        if (node is not JsonObject json) throw new BadInputException(source, "rope_scaling must be an object or null");
        var reader = new ConfigReader(json, source, "rope_scaling.");
        var kind = reader.Text("rope_type") ?? reader.Text("type");
        if (kind == "default") return null;
        if (kind != "llama3") throw new BadInputException(source, $"rope_scaling type '{kind}' is not supported (only llama3)");
        return new Llama3RopeScaling(reader.Number("factor"), reader.Number("low_freq_factor"), reader.Number("high_freq_factor"),
            reader.Int("original_max_position_embeddings"));
    }

    /// <param name="torchDType">The dtype the weights beside it are stored in, as transformers names it.</param>
    public JsonObject ToJson(string torchDType = "float32")
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
            ["model_type"] = Architecture == "MistralForCausalLM" ? "mistral" : "llama",
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["vocab_size"] = VocabSize,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["bos_token_id"] = BosTokenId,
            ["eos_token_id"] = OtherEosTokenIds is { } others ? new JsonArray([.. others.Ids.Prepend(EosTokenId).Select(id => JsonValue.Create(id))])
                : EosTokenId,
            ["hidden_act"] = "silu",
            ["attention_bias"] = false,
            ["mlp_bias"] = false,
            ["torch_dtype"] = torchDType,
        };
        if (SlidingWindow is { } window) json["sliding_window"] = window;
        json["rope_scaling"] = RopeScaling is { } s
            ? new JsonObject
            {
                ["rope_type"] = "llama3",
                ["factor"] = s.Factor,
                ["low_freq_factor"] = s.LowFrequencyFactor,
                ["high_freq_factor"] = s.HighFrequencyFactor,
                ["original_max_position_embeddings"] = s.OriginalMaxPositionEmbeddings,
            }
            : null;
        return json;
    }

    public void Save(string path, string torchDType = "float32") =>
        AtomicFile.WriteAllText(path, ToJson(torchDType).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

    /// <summary>Typed field access that names the file and the field when a value is missing or of the wrong kind.</summary>
    private sealed class ConfigReader(JsonObject json, string source, string prefix = "")
    {
        private JsonValue? Value(string name)
        {
            var node = json[name];
            if (node is null || node.GetValueKind() == JsonValueKind.Null) return null;
            return node as JsonValue ?? throw new BadInputException(source, $"'{prefix}{name}' must be a single value");
        }

        public int Int(string name, int? fallback = null) =>
            OptionalInt(name) ?? fallback ?? throw new BadInputException(source, $"missing field '{prefix}{name}'");

        /// <summary>An integer field, or null when it is absent or null.</summary>
        public int? OptionalInt(string name) => Value(name) is { } value ? Integer(value, name) : null;

        private int Integer(JsonNode? value, string name) =>
            value is JsonValue number && number.GetValueKind() == JsonValueKind.Number
                && int.TryParse(number.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var result)
                ? result
                : throw new BadInputException(source, $"'{prefix}{name}' must be an integer, got {value?.ToJsonString() ?? "null"}");

        public double Number(string name, double? fallback = null)
        {
            var value = Value(name);
            if (value is null) return fallback ?? throw new BadInputException(source, $"missing field '{prefix}{name}'");
            if (value.GetValueKind() != JsonValueKind.Number)
                throw new BadInputException(source, $"'{prefix}{name}' must be a number, got {value.ToJsonString()}");
            return value.GetValue<double>();
        }

        public bool Flag(string name, bool fallback)
        {
            var value = Value(name);
            if (value is null) return fallback;
            return value.GetValueKind() switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new BadInputException(source, $"'{prefix}{name}' must be true or false, got {value.ToJsonString()}"),
            };
        }

        public string? Text(string name)
        {
            var value = Value(name);
            if (value is null) return null;
            if (value.GetValueKind() != JsonValueKind.String)
                throw new BadInputException(source, $"'{prefix}{name}' must be a string, got {value.ToJsonString()}");
            return value.GetValue<string>();
        }

        /// <summary>A token id or a non-empty list of them (Llama 3 lists several eos_token_id); the first is the one the encoder writes.</summary>
        public int[] TokenIds(string name, int fallback)
        {
            if (json[name] is not JsonArray list) return [Int(name, fallback)];
            if (list.Count == 0)
                throw new BadInputException(source, $"'{prefix}{name}' must be an integer or a non-empty list of integers, got {list.ToJsonString()}");
            return list.Select(id => Integer(id, name)).ToArray();
        }
    }
}
