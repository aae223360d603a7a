using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Methods;
using SimNpo.Unlearn.Training;

namespace SimNpo.Cli;

/// <summary>
/// The options of `finetune` and `unlearn`. Each can also come from a JSON or YAML file given with --config, under the
/// option's name without dashes ("lr", "batch-size", "forget", ...); the command line overrides the file, and the
/// resolved values are saved as run.json in the output folder, which --config accepts back.
/// </summary>
public sealed class TrainingOptions
{
    private static readonly TrainingSettings Defaults = new();

    public Option<FileInfo?> Config { get; } = new("--config")
        { Description = "JSON or YAML (.yaml, .yml) file of option values (names without dashes); the command line overrides it" };
    public Option<bool> Resume { get; } = new("--resume") { Description = "continue the run in --out from its last checkpoint" };
    public Option<bool> Overwrite { get; } = CommonOptions.Overwrite();
    public Option<string> Method { get; } = new Option<string>("--method")
        { Description = $"unlearning objective ({TrainingMethods.Help(TrainingMethods.Unlearning)})", DefaultValueFactory = _ => Defaults.Method }
        .AcceptOnlyFromAmong(TrainingMethods.Names(TrainingMethods.Unlearning));
    public Option<double?> Beta { get; } = new("--beta") { Description = CommonOptions.BetaDescription(TrainingMethods.Unlearning) };
    public Option<string?> Preset { get; } = new Option<string?>("--preset")
        { Description = "the official settings of a benchmark split for the method (README: Presets); given options override its values; none: no preset" }
        .AcceptOnlyFromAmong([.. TrainingPresets.Names, NoPreset]);
    public const string NoPreset = "none";
    public Option<double> Gamma { get; } = new("--gamma") { Description = "SimNPO margin γ (see --gamma-form)", DefaultValueFactory = _ => Defaults.Gamma };
    public Option<string> GammaForm { get; } = CommonOptions.GammaFormOption();
    public Option<double> ForgetWeight { get; } = new("--forget-weight") { Description = "w_f on the forget term (the public TOFU code's npo_coeff)",
        DefaultValueFactory = _ => Defaults.ForgetWeight };
    public Option<double> RetainWeight { get; } = new("--retain-weight") { Description = "λ on the retain term (the paper's); 0 turns it off",
        DefaultValueFactory = _ => Defaults.RetainWeight };
    public Option<string> RetainLoss { get; } = new Option<string>("--retain-loss")
        { Description = "retain regulariser: token-mean NLL, or KL(π_ref ‖ πθ) (loads the reference model)",
        DefaultValueFactory = _ => Defaults.RetainLoss }.AcceptOnlyFromAmong(TrainingSettings.RetainLosses);
    public Option<string> KlReduction { get; } = new Option<string>("--kl-reduction")
        { Description = "KL retain term: answer-mean (over the answer tokens), batchmean (Unlearn-Simple's and tofu's: every position, / batch × "
            + "max-length) or batchmean-longest (open-unlearning's: / batch × the batch's longest example)",
        DefaultValueFactory = _ => Defaults.KlReduction }.AcceptOnlyFromAmong(TrainingSettings.KlReductions);
    public Option<double> LearningRate { get; } = new("--lr") { Description = "peak learning rate", DefaultValueFactory = _ => Defaults.LearningRate };
    public Option<int> Epochs { get; } = new("--epochs") { Description = "passes over the forget (or training) set",
        DefaultValueFactory = _ => Defaults.Epochs };
    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "examples per forward pass", DefaultValueFactory = _ => Defaults.BatchSize };
    public Option<int> GradAccum { get; } = new("--grad-accum") { Description = "micro-batches per optimizer step (effective batch = batch-size × grad-accum)",
        DefaultValueFactory = _ => Defaults.GradAccum };
    public Option<string> Batching { get; } = new Option<string>("--batching")
        { Description = "epoch: ceil(N/B) steps an epoch, the last short; stream: floor(epochs·N/B) steps of B examples across epochs (the TOFU code)",
        DefaultValueFactory = _ => Defaults.Batching }.AcceptOnlyFromAmong(StepPlan.All);
    public Option<string> Warmup { get; } = new("--warmup") { Description = "warmup in steps (\"10\") or epochs (\"1e\")",
        DefaultValueFactory = _ => Defaults.Warmup };
    public Option<string> Schedule { get; } = new Option<string>("--schedule") { Description = "learning-rate schedule after warmup",
        DefaultValueFactory = _ => Defaults.Schedule }.AcceptOnlyFromAmong("constant", "linear", "cosine");
    public Option<double> WeightDecay { get; } = new("--weight-decay") { Description = "AdamW decoupled weight decay",
        DefaultValueFactory = _ => Defaults.WeightDecay };
    public Option<double> MaxGradNorm { get; } = new("--max-grad-norm") { Description = "clip the global gradient norm to this; 0 for no clipping",
        DefaultValueFactory = _ => Defaults.MaxGradNorm };
    public Option<int> Seed { get; } = CommonOptions.Seed();
    public Option<int> MaxLength { get; } = new("--max-length")
    {
        Description = "longest sequence in tokens; longer examples are cut (a prompt that leaves no answer token within it is refused)",
        DefaultValueFactory = _ => Defaults.MaxLength,
    };
    public Option<bool> SkipLong { get; } = new("--skip-long")
    {
        Description = "drop the records a run refuses (a prompt that fills --max-length, a cut sequence past the model's positions or window; "
            + "their count is printed) instead of refusing the file",
    };
    public Option<int> SaveEvery { get; } = new("--save-every") { Description = "optimizer steps between checkpoints; 0: at the end of each epoch",
        DefaultValueFactory = _ => Defaults.SaveEvery };
    public Option<int> EvalEvery { get; } = new("--eval-every") { Description = "optimizer steps between evaluations of forget and retain log-probs; 0: none",
        DefaultValueFactory = _ => Defaults.EvalEvery };
    public Option<string> Device { get; } = CommonOptions.Device();
    public Option<string> Precision { get; } = CommonOptions.Precision();
    public Option<string> OptimizerState { get; } = CommonOptions.OptimizerState();
    public Option<string?> SaveDType { get; } = new Option<string?>("--save-dtype")
        { Description = "dtype of the saved model: f32, bf16 or f16 (default: the dtype it was loaded in)" }.AcceptOnlyFromAmong(
        [.. Model.ModelFiles.SaveDTypes.Keys]);
    public Option<string?> ChatTemplate { get; } = CommonOptions.ChatTemplate();
    public Option<string?> PromptFormat { get; } = CommonOptions.PromptFormat();
    public Option<string?> AnswerPrefix { get; } = CommonOptions.AnswerPrefix();
    public Option<string> Recompute { get; } = CommonOptions.Recompute();
    public Option<double?> DeviceMemory { get; } = CommonOptions.DeviceMemory();
    public Option<bool> ShardOptimizer { get; } = CommonOptions.ShardOptimizer();
    public Option<string> GradientSum { get; } = CommonOptions.GradientSum();
    public Option<string> NcclLibrary { get; } = CommonOptions.NcclLibrary();

    /// <summary>The options that only exist for unlearning; finetune fixes method nll and has no retain set.</summary>
    private IEnumerable<Option> UnlearningOnly => [Method, Preset, Beta, Gamma, GammaForm, ForgetWeight, RetainWeight, RetainLoss, KlReduction];

    private IEnumerable<Option> Shared =>
        [Config, Resume, Overwrite, LearningRate, Epochs, BatchSize, GradAccum, Batching, Warmup, Schedule, WeightDecay, MaxGradNorm, Seed, MaxLength, SkipLong,
            SaveEvery, EvalEvery, Device, Precision, OptimizerState, SaveDType, ChatTemplate, PromptFormat, AnswerPrefix, Recompute, DeviceMemory,
            ShardOptimizer, GradientSum, NcclLibrary];

    /// <summary>How a data-parallel run shares its work, which the TOFU protocol's runs do not take.</summary>
    public IEnumerable<Option> DataParallel => [ShardOptimizer, GradientSum, NcclLibrary];

    /// <summary>The data-parallel options' values, from the command line, else --config, else their defaults.</summary>
    public DataParallelValues DataParallelOf(ParseResult parse, JsonObject config)
    {
        var gradientSum = Value(parse, GradientSum, config, ConfigPath(parse));
        if (!Enum.TryParse<Unlearn.Training.GradientSum>(gradientSum, ignoreCase: true, out var mode) || int.TryParse(gradientSum, out _))
            throw new BadInputException(ConfigPath(parse), $"'gradient-sum' is '{gradientSum}', not one of auto, nccl, host");
        return new(Value(parse, ShardOptimizer, config, ConfigPath(parse)), mode, Value(parse, NcclLibrary, config, ConfigPath(parse)));
    }

    public void AddTo(Command command, bool unlearning)
    {
        foreach (var option in unlearning ? UnlearningOnly.Concat(Shared) : Shared) command.Options.Add(option);
    }

    /// <summary>The --config file's values, or an empty object. Keys are checked against the command's options.</summary>
    public JsonObject ConfigFile(ParseResult parse, Command command)
    {
        if (parse.GetValue(Config) is not { } file) return [];
        var json = YamlConfig.IsYaml(file.FullName) ? YamlConfig.ReadObject(file.FullName) : JsonFile.ReadObject(file.FullName);
        var known = command.Options.Select(o => o.Name.TrimStart('-')).ToHashSet();
        foreach (var key in json.Select(pair => pair.Key))
            if (!known.Contains(key)) throw new BadInputException(file.FullName, $"'{key}' is not an option of {command.Name}");
        return json;
    }

    /// <summary>Whether a JSON file is a Hugging Face model config (it has hidden_size) rather than run options.</summary>
    public static bool IsModelConfig(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) is JsonObject json && json.ContainsKey("hidden_size");
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return false;
        }
    }

    /// <summary>An option's value: from the command line when given there, else from the config file, else its default.</summary>
    public static T Value<T>(ParseResult parse, Option<T> option, JsonObject config, string configPath)
    {
        var result = parse.GetResult(option);
        var key = option.Name.TrimStart('-');
        if ((result is null || result.Implicit) && config[key] is { } node)
        {
            try
            {
                return node.Deserialize<T>()!;
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                throw new BadInputException(configPath, $"'{key}' has the wrong type for {option.Name} ({node.ToJsonString()})", inner: e);
            }
        }
        return parse.GetValue(option)!;
    }

    public string ConfigPath(ParseResult parse) => parse.GetValue(Config)?.FullName ?? "--config";

    /// <summary>
    /// The chat template, from the command line or the config file like every other training option; by default the
    /// model's (modelConfig's architecture, and for Llama the tokenizer in tokenizerDirectory).
    /// </summary>
    public PromptTemplate Template(ParseResult parse, JsonObject config, Func<LlamaConfig> modelConfig, string? tokenizerDirectory)
    {
        string? Text(Option<string?> option) => Value(parse, option, config, ConfigPath(parse));
        var name = Text(ChatTemplate);
        if (name is not null && ChatTemplates.Find(name) is null)
            throw new BadInputException(ConfigPath(parse), $"chat-template '{name}' is not one of {string.Join(", ", ChatTemplates.Names)}");
        return CommonOptions.Template(name, Text(PromptFormat), Text(AnswerPrefix), modelConfig, tokenizerDirectory);
    }

    /// <summary>A file or folder option, from the command line or the config file, as a full path.</summary>
    public string? PathValue(ParseResult parse, Option<string?> option, JsonObject config) =>
        Value(parse, option, config, ConfigPath(parse)) is { } value ? Path.GetFullPath(value) : null;

    public string RequiredPath(ParseResult parse, Option<string?> option, JsonObject config) => Path.GetFullPath(RequiredValue(parse, option, config));

    /// <summary>An option's value as written, from the command line or the config file (a model may be a Hub id, not a path).</summary>
    public string RequiredValue(ParseResult parse, Option<string?> option, JsonObject config) =>
        Value(parse, option, config, ConfigPath(parse)) ?? throw new UsageException($"{option.Name} is required (on the command line or in --config)");

    /// <summary>
    /// Refuses, before any weights load, a run whose memory plan (a batch of batch-size × max-length, every position
    /// scored) passes --device-memory, in the run's precision and optimizer state.
    /// </summary>
    public void CheckMemory(ParseResult parse, JsonObject config, TrainingSettings settings, LlamaConfig model)
    {
        if (Value(parse, DeviceMemory, config, ConfigPath(parse)) is not { } gigabytes) return;
        MemoryPlan.ForTraining(model, Kernels.Precision.Parse(settings.Precision), settings.MomentStorage, RecomputeNames.Parse(settings.Recompute),
            settings.BatchSize,
            Math.Min(settings.MaxLength, model.MaxSequenceLength))
            .ForRanks(Unlearn.Distributed.Communicators.World.Size, Value(parse, ShardOptimizer, config, ConfigPath(parse))).EnsureFits(gigabytes);
    }

    /// <summary>
    /// The run's settings: each option from the command line, else --config, else the preset (--preset, for this method),
    /// else its default. <paramref name="method"/> replaces --method (tofu resolves each of its methods);
    /// <paramref name="defaultPreset"/> applies when neither names a preset, and only to the methods it has settings for.
    /// </summary>
    public TrainingSettings Resolve(ParseResult parse, JsonObject config, bool unlearning, string? method = null, string? defaultPreset = null)
    {
        method ??= unlearning ? Value(parse, Method, config, ConfigPath(parse)) : new NllMethod().Name;
        var named = unlearning ? Value(parse, Preset, config, ConfigPath(parse)) : null;
        var preset = (named ?? defaultPreset) is { } chosen && chosen != NoPreset ? chosen : null;
        if (preset is not null && TrainingPresets.Find(preset, method) is null)
        {
            if (named is not null)
                throw new UsageException(
                    $"--preset {preset} has no official settings for {method} (it has: {string.Join(", ", TrainingPresets.MethodsOf(preset))})");
            preset = null;
        }
        if (preset is not null)
        {
            var layered = TrainingPresets.Options(preset, method);
            foreach (var (key, value) in config) layered[key] = value?.DeepClone();
            config = layered;
        }
        T Get<T>(Option<T> option) => Value(parse, option, config, ConfigPath(parse));
        var settings = new TrainingSettings
        {
            Method = method,
            Preset = preset,
            Beta = unlearning ? Get(Beta) : null,
            Gamma = unlearning ? Get(Gamma) : Defaults.Gamma,
            GammaForm = unlearning ? Get(GammaForm) : Defaults.GammaForm,
            ForgetWeight = unlearning ? Get(ForgetWeight) : Defaults.ForgetWeight,
            RetainWeight = unlearning ? Get(RetainWeight) : 0,
            RetainLoss = unlearning ? Get(RetainLoss) : Defaults.RetainLoss,
            KlReduction = unlearning ? Get(KlReduction) : Defaults.KlReduction,
            LearningRate = Get(LearningRate),
            Epochs = Get(Epochs),
            BatchSize = Get(BatchSize),
            GradAccum = Get(GradAccum),
            Batching = Get(Batching),
            Warmup = Get(Warmup),
            Schedule = Get(Schedule),
            WeightDecay = Get(WeightDecay),
            MaxGradNorm = Get(MaxGradNorm),
            Seed = Get(Seed),
            MaxLength = Get(MaxLength),
            SkipLong = Get(SkipLong),
            SaveEvery = Get(SaveEvery),
            EvalEvery = Get(EvalEvery),
            Device = Get(Device),
            Recompute = Get(Recompute),
            // auto is the device's default, settled here so that run.json and checkpoints name what the run stores.
            Precision = CommonOptions.ResolvePrecision(Get(Precision), Devices.Create(Get(Device))).Name,
            OptimizerState = Get(OptimizerState),
            SaveDType = Get(SaveDType),
        };
        if (settings.Problem() is { } problem) throw new UsageException(problem);
        return settings;
    }
}
