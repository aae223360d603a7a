using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Kernels;
using SimNpo.Model.Families;
using SimNpo.Model.IO;

namespace SimNpo.Model;

/// <summary>The "llama3" rope_scaling of Hugging Face: long wavelengths slowed by Factor, short ones kept, a smooth band between.</summary>
public sealed record Llama3RopeScaling(double Factor, double LowFrequencyFactor, double HighFrequencyFactor, int OriginalMaxPositionEmbeddings);

/// <summary>
/// The fields of a Hugging Face config.json that define the computation, for every family the engine runs (the name
/// is historical: Llama came first). The architecture picks the <see cref="Family"/>, whose features choose the
/// graph's ops and whose own keys (Phi's partial_rotary_factor, Mistral's sliding_window) it reads. Anything the
/// engine does not implement (another architecture, activation, rope scaling, a bias the family lacks) is refused
/// rather than ignored. A sliding window (Mistral-7B-v0.1, Zephyr) is honoured: every attention call carries it
/// (<see cref="Attention"/>), in training, evaluation and generation alike.
/// </summary>
public sealed record LlamaConfig
{
    public string Architecture { get; init; } = "LlamaForCausalLM";

    /// <summary>The family the architecture names; a config with an unsupported one fails <see cref="Validate"/>.</summary>
    public ModelFamily Family => ModelFamilies.Find(Architecture) ?? throw new InvalidOperationException(ModelFamilies.Unsupported(Architecture));

    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int VocabSize { get; init; }
    /// <summary>The norms' eps: rms_norm_eps, or layer_norm_eps for a LayerNorm family (the family's <see cref="ConfigDefaults.NormEpsKey"/>).</summary>
    public double NormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    public Llama3RopeScaling? RopeScaling { get; init; }
    /// <summary>The share of each head the rotary embedding turns (Phi's partial_rotary_factor); 1 elsewhere.</summary>
    public double PartialRotaryFactor { get; init; } = 1;
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
        HeadDim = headDim, VocabSize = vocab, NormEps = 1e-5, MaxPositionEmbeddings = maxPositions,
    };

    public int QueryWidth => NumAttentionHeads * HeadDim;
    public int KvWidth => NumKeyValueHeads * HeadDim;

    /// <summary>The leading dims of each head the rotary embedding turns: int(head_dim · partial_rotary_factor), as transformers' Phi truncates it.</summary>
    public int RotaryDim => (int)(HeadDim * PartialRotaryFactor);

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
        Require(ModelFamilies.Find(Architecture) is not null, ModelFamilies.Unsupported(Architecture));
        Require(HiddenSize > 0 && IntermediateSize > 0 && NumHiddenLayers > 0 && NumAttentionHeads > 0 && VocabSize > 0 && HeadDim > 0,
            "hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, head_dim and vocab_size must be positive");
        Require(NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads == 0,
            $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads})");
        Require(HeadDim % 2 == 0, $"head_dim ({HeadDim}) must be even for rotary embeddings");
        Require(PartialRotaryFactor is > 0 and <= 1 && RotaryDim > 0 && RotaryDim % 2 == 0,
            $"partial_rotary_factor ({PartialRotaryFactor}) must turn an even, positive number of head_dim's {HeadDim} dims, got {RotaryDim}");
        Require(NormEps > 0, $"{Family.Defaults.NormEpsKey} must be positive");
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
            null => throw new BadInputException(source, "neither 'architectures' nor 'model_type' is given"),
            var type => ModelFamilies.ArchitectureOf(type) ?? type,
        };
        var family = ModelFamilies.Find(architecture) ?? throw new BadInputException(source, ModelFamilies.Unsupported(architecture));

        var hidden = reader.Int("hidden_size");
        var heads = reader.Int("num_attention_heads");
        if (heads > 0 && json["head_dim"] is null && family.Defaults.HeadDim is null && hidden % heads != 0)
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
            HeadDim = reader.Int("head_dim", family.Defaults.HeadDim ?? (heads > 0 ? hidden / heads : 0)),
            VocabSize = reader.Int("vocab_size"),
            NormEps = reader.Number(family.Defaults.NormEpsKey, family.Defaults.NormEps),
            RopeTheta = reader.Number("rope_theta", 10000),
            RopeScaling = ReadRopeScaling(json["rope_scaling"], source),
            TieWordEmbeddings = reader.Flag("tie_word_embeddings", family.Defaults.TiedEmbeddings),
            MaxPositionEmbeddings = reader.Int("max_position_embeddings", family.Defaults.MaxPositions),
            BosTokenId = reader.TokenIds("bos_token_id", 1)[0],
            EosTokenId = eosTokenIds[0],
            OtherEosTokenIds = eosTokenIds.Length > 1 ? new TokenIdList(eosTokenIds[1..]) : null,
        };
        config = family.ReadFeatures(reader, config);
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
            ["model_type"] = Family.ModelType,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["vocab_size"] = VocabSize,
            [Family.Defaults.NormEpsKey] = NormEps,
            ["rope_theta"] = RopeTheta,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["bos_token_id"] = BosTokenId,
            ["eos_token_id"] = OtherEosTokenIds is { } others ? new JsonArray([.. others.Ids.Prepend(EosTokenId).Select(id => JsonValue.Create(id))])
                : EosTokenId,
            ["torch_dtype"] = torchDType,
        };
        Family.WriteFeatures(json, this);
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
}
