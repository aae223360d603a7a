using System.Text.Json.Nodes;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// The official per-split settings (--preset), each value with the file it comes from: SimNPO from its authors' code
/// (OPTML-Group/Unlearn-Simple), GA and GradDiff on TOFU from the TOFU authors' (locuslab/tofu), NPO on TOFU and NPO,
/// GradDiff and GA on MUSE from open-unlearning. A value given on the command line or in --config wins over the preset's.
/// Batch sizes: the product is the official effective batch (per-device batch × accumulation × GPUs); --batch-size is
/// the official per-device batch, which decides what the token-mean NLL pools.
/// </summary>
public static class TrainingPresets
{
    public static readonly string[] Names = ["tofu-forget01", "tofu-forget05", "tofu-forget10", "muse-news", "muse-books"];

    /// <summary>One option's value and where the official code sets it (repository@commit file:line).</summary>
    public sealed record Setting(string Option, JsonNode Value, string Source);

    private const string Simple = "OPTML-Group/Unlearn-Simple@f1a355d";
    private const string Tofu = "locuslab/tofu@bdc209e";
    private const string Open = "locuslab/open-unlearning@d3d7cf9";
    /// <summary>open-unlearning's kl_div batchmean over a batch padded to its longest example.</summary>
    private static readonly (string, string) OpenUnlearningKl =
        ("batchmean-longest", $"{Open} src/trainer/utils.py:29-31, src/data/collators.py:24-35 (pad_sequence: padded to the longest)");
    private const string HfDefault = "Hugging Face TrainingArguments' default (not set by";

    /// <summary>The preset's settings for a method, or null where the official code gives none (then the preset is refused for it).</summary>
    public static IReadOnlyList<Setting>? Find(string preset, string method)
    {
        if (!Names.Contains(preset)) return null;
        IEnumerable<Setting>? settings = (preset.StartsWith("tofu-", StringComparison.Ordinal), method) switch
        {
            (true, "simnpo") => SimNpoTofu(preset),
            (true, "npo") => [.. OpenUnlearningTofu(), .. Npo()],
            (true, "graddiff" or "ga") => TofuBenchmark(method),
            (false, "simnpo") => SimNpoMuse(preset),
            (false, "npo") => [.. OpenUnlearningMuse(), .. Npo()],
            (false, "graddiff") => [.. OpenUnlearningMuse(), .. GradDiff()],
            (false, "ga") => [.. OpenUnlearningMuse(), S("forget-weight", 1.0, $"{Open} configs/trainer/GradAscent.yaml (no weights: minus the NLL)")],
            _ => null,
        };
        return settings?.ToArray();
    }

    /// <summary>The methods a preset has settings for.</summary>
    public static IEnumerable<string> MethodsOf(string preset) =>
        Methods.TrainingMethods.Unlearning.Select(m => m.Name).Where(method => Find(preset, method) is not null);

    /// <summary>The preset's values under their option names: the layer below --config and the command line.</summary>
    public static JsonObject Options(string preset, string method)
    {
        var settings = Find(preset, method) ?? throw new ArgumentException(
            $"preset {preset} has no official settings for {method} (it has: {string.Join(", ", MethodsOf(preset))})");
        var options = new JsonObject();
        foreach (var setting in settings) options[setting.Option] = setting.Value.DeepClone();
        return options;
    }

    private static Setting S(string option, JsonNode value, string source) => new(option, value, source);

    /// <summary>
    /// The loop's settings every preset has: lr 1e-5 (all of them), epochs, per-device batch and accumulation (× GPUs),
    /// batching, warmup, weight decay, max-length and the KL reduction, each value with its source.
    /// </summary>
    private static IEnumerable<Setting> Loop(string lr, (int Value, string Source) epochs, (int Batch, int Accum, string Source) batch,
        (string Value, string Source) batching, (string Value, string Source) warmup, (double Value, string Source) decay,
        (int Value, string Source) maxLength, (string Value, string Source) kl) =>
    [
        S("lr", 1e-5, lr), S("epochs", epochs.Value, epochs.Source), S("batch-size", batch.Batch, batch.Source),
        S("grad-accum", batch.Accum, batch.Source), S("batching", batching.Value, batching.Source), S("warmup", warmup.Value, warmup.Source),
        S("weight-decay", decay.Value, decay.Source), S("max-length", maxLength.Value, maxLength.Source), S("kl-reduction", kl.Value, kl.Source),
    ];

    /// <summary>Hugging Face Trainer under DeepSpeed ZeRO-3, as all three TOFU codes run it.</summary>
    private static IEnumerable<Setting> DeepSpeedTrainer(string trainingArguments, string dsConfig) =>
    [
        S("schedule", "linear", $"{HfDefault} {trainingArguments})"), NoClipping(dsConfig),
    ];

    /// <summary>Trainer leaves clipping to DeepSpeed, whose gradient_clipping defaults to 0 (none) when its config does not set it.</summary>
    private static Setting NoClipping(string dsConfig) => S("max-grad-norm", 0.0, $"{dsConfig}: no gradient_clipping, so DeepSpeed's default 0 (none)");

    /// <summary>A method's forget and retain weights and retain loss, from one place.</summary>
    private static IEnumerable<Setting> Weights(double forget, double retain, string source) =>
        [S("forget-weight", forget, source), S("retain-weight", retain, source), S("retain-loss", "nll", source)];

    private static IEnumerable<Setting> SimNpoTofu(string preset)
    {
        var (weight, beta, source) = preset == "tofu-forget10"
            ? (0.125, 4.5, $"{Simple} TOFU/README.md:31")
            : (0.1375, 2.5, preset == "tofu-forget05"
                ? $"{Simple} TOFU/README.md:28"
                : $"{Simple} TOFU/config/forget.yaml:18,22 (no forget01 line in README)");
        const string Config = $"{Simple} TOFU/config/forget.yaml";
        return
        [
            .. Loop($"{Config}:9", (10, $"{Config}:15"), (1, 32, $"{Config}:13-14 (1 × 4) × 8 GPUs (TOFU/README.md:28)"),
                (StepPlan.Stream, $"{Simple} TOFU/forget.py:101"), ("1e", $"{Config}:30, forget.py:99,114"), (0.01, $"{Config}:24"),
                (500, $"{Simple} TOFU/forget.py:65"), ("batchmean", $"{Simple} TOFU/dataloader.py:356")),
            .. DeepSpeedTrainer($"{Simple} TOFU/forget.py:119-139", $"{Simple} TOFU/config/ds_config.json"),
            S("forget-weight", weight, source), S("beta", beta, source),
            S("retain-weight", 1.0, $"{Config}:19 (grad_diff_coeff)"),
            S("retain-loss", "nll", $"{Config}:16 (simnpo_grad_diff), dataloader.py:286-289"),
            S("gamma", 0.0, $"{Config}:23"), S("gamma-form", "code", $"{Simple} TOFU/dataloader.py:283-284"),
        ];
    }

    private static IEnumerable<Setting> TofuBenchmark(string method) =>
    [
        .. Loop($"{Tofu} config/forget.yaml:8", (5, $"{Tofu} config/forget.yaml:13"), (4, 8, $"{Tofu} README.md:60 (4 × 4) × 2 GPUs"),
            (StepPlan.Stream, $"{Tofu} forget.py:85"), ("1e", $"{Tofu} forget.py:83,92"), (0.01, $"{Tofu} config/forget.yaml:18"),
            (500, $"{Tofu} forget.py:75"), ("batchmean", $"{Tofu} dataloader.py:131")),
        .. DeepSpeedTrainer($"{Tofu} forget.py:88-111", $"{Tofu} config/ds_config.json"),
        .. Weights(1, 1, $"{Tofu} dataloader.py:{(method == "ga" ? "97-99" : "101-111")}"),
    ];

    private static IEnumerable<Setting> OpenUnlearningTofu()
    {
        const string Experiment = $"{Open} configs/experiment/unlearn/tofu/default.yaml";
        return
        [
            .. Loop($"{Experiment}:45", (10, $"{Experiment}:47"), (4, 8, $"{Open} scripts/tofu_unlearn.sh:26-27 (4 × 4) × 2 GPUs (line 50)"),
                (StepPlan.Stream, $"{Open} src/trainer/__init__.py:39-42 (its warmup; Trainer's own step count differs, docs/fidelity.md)"),
                ("1e", $"{Experiment}:44"), (0.01, $"{Experiment}:46"), (512, $"{Open} configs/data/datasets/TOFU_QA_forget.yaml:10"),
                OpenUnlearningKl),
            .. DeepSpeedTrainer($"{Open} configs/trainer/finetune.yaml", $"{Open} configs/accelerate/zero_stage3_offload_config.json"),
        ];
    }

    private static IEnumerable<Setting> Npo() =>
        [S("beta", 0.1, $"{Open} configs/trainer/NPO.yaml:6"), .. Weights(1, 1, $"{Open} configs/trainer/NPO.yaml:7-9")];

    private static IEnumerable<Setting> GradDiff() => Weights(1, 1, $"{Open} configs/trainer/GradDiff.yaml:6-8");

    private static IEnumerable<Setting> SimNpoMuse(string preset)
    {
        var (beta, line) = preset == "muse-news" ? (0.7, 30) : (0.75, 33);
        var command = $"{Simple} MUSE/README.md:{line}";
        const string Iterative = $"{Simple} MUSE/baselines/baselines/iterative.py";
        const string Defaults = $"{HfDefault} {Iterative}:54-64)";
        return
        [
            .. Loop(command, (10, command), (4, 1, $"{command} (per device, one process; no accumulation)"), (StepPlan.Epoch, $"{Iterative}:59"),
                ("0", Defaults), (0.0, Defaults), (2048, command), ("batchmean", $"{Iterative}:177-182")),
            S("schedule", "constant", $"{Iterative}:61"), S("max-grad-norm", 1.0, $"{Defaults}; no DeepSpeed"),
            S("beta", beta, command), S("forget-weight", 1.0, $"{command} (npo_coeff)"), S("retain-weight", 0.1, $"{command} (coeff)"),
            S("retain-loss", "nll", $"{command} (simnpo_gdr), {Iterative}:169-171"),
            S("gamma", 0.1, $"{Simple} MUSE/baselines/unlearn.py:118-120 (default)"), S("gamma-form", "code", $"{Iterative}:163-164"),
        ];
    }

    private static IEnumerable<Setting> OpenUnlearningMuse()
    {
        const string Experiment = $"{Open} configs/experiment/unlearn/muse/default.yaml";
        return
        [
            .. Loop($"{Experiment}:46", (10, $"{Experiment}:47"), (4, 16, $"{Open} scripts/muse_unlearn.sh:7-8 (4 × 8) × 2 GPUs (line 35)"),
                (StepPlan.Epoch, $"{Experiment}:47 (num_train_epochs)"), ("0", $"{Experiment} (no warmup_epochs)"),
                (0.0, $"{Open} configs/trainer/finetune.yaml:18"), (2048, $"{Open} configs/data/datasets/MUSE_forget.yaml:9"),
                OpenUnlearningKl),
            S("schedule", "constant", $"{Experiment}:48"),
            NoClipping($"{Open} configs/accelerate/zero_stage3_offload_config.json"),
        ];
    }
}
