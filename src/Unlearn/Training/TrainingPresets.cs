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
            (false, "graddiff" or "ga") => [.. OpenUnlearningMuse(), .. GradDiff()],
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

    /// <summary>Hugging Face Trainer under DeepSpeed ZeRO-3, as all three TOFU codes run it.</summary>
    private static IEnumerable<Setting> DeepSpeedTrainer(string trainingArguments, string dsConfig) =>
    [
        S("schedule", "linear", $"{HfDefault} {trainingArguments})"),
        // Trainer leaves clipping to DeepSpeed, whose gradient_clipping defaults to 0 when its config does not set it.
        S("max-grad-norm", 0.0, $"{dsConfig}: no gradient_clipping, so DeepSpeed's default 0 (none)"),
    ];

    private static IEnumerable<Setting> SimNpoTofu(string preset)
    {
        var (weight, beta, source) = preset == "tofu-forget10"
            ? (0.125, 4.5, $"{Simple} TOFU/README.md:31")
            : (0.1375, 2.5, preset == "tofu-forget05" ? $"{Simple} TOFU/README.md:28" : $"{Simple} TOFU/config/forget.yaml:18,22 (no forget01 line in README)");
        return
        [
            S("lr", 1e-5, $"{Simple} TOFU/config/forget.yaml:9"),
            S("epochs", 10, $"{Simple} TOFU/config/forget.yaml:15"),
            S("batch-size", 1, $"{Simple} TOFU/config/forget.yaml:13"),
            S("grad-accum", 32, $"{Simple} TOFU/config/forget.yaml:14 (4) × 8 GPUs (TOFU/README.md:28)"),
            S("batching", StepPlan.Stream, $"{Simple} TOFU/forget.py:101"),
            S("warmup", "1e", $"{Simple} TOFU/config/forget.yaml:30, forget.py:99,114"),
            S("weight-decay", 0.01, $"{Simple} TOFU/config/forget.yaml:24"),
            S("max-length", 500, $"{Simple} TOFU/forget.py:65"),
            S("forget-weight", weight, source),
            S("beta", beta, source),
            S("gamma", 0.0, $"{Simple} TOFU/config/forget.yaml:23"),
            S("gamma-form", "code", $"{Simple} TOFU/dataloader.py:283-284"),
            S("retain-weight", 1.0, $"{Simple} TOFU/config/forget.yaml:19 (grad_diff_coeff)"),
            S("retain-loss", "nll", $"{Simple} TOFU/config/forget.yaml:16 (simnpo_grad_diff), dataloader.py:286-289"),
            S("kl-reduction", "batchmean", $"{Simple} TOFU/dataloader.py:356"),
            .. DeepSpeedTrainer($"{Simple} TOFU/forget.py:119-139", $"{Simple} TOFU/config/ds_config.json"),
        ];
    }

    private static IEnumerable<Setting> TofuBenchmark(string method) =>
    [
        S("lr", 1e-5, $"{Tofu} config/forget.yaml:8"),
        S("epochs", 5, $"{Tofu} config/forget.yaml:13"),
        S("batch-size", 4, $"{Tofu} README.md:60"),
        S("grad-accum", 8, $"{Tofu} README.md:60 (4) × 2 GPUs"),
        S("batching", StepPlan.Stream, $"{Tofu} forget.py:85"),
        S("warmup", "1e", $"{Tofu} forget.py:83,92"),
        S("weight-decay", 0.01, $"{Tofu} config/forget.yaml:18"),
        S("max-length", 500, $"{Tofu} forget.py:75"),
        S("forget-weight", 1.0, $"{Tofu} dataloader.py:{(method == "ga" ? "97-99" : "101-111")}"),
        S("retain-weight", 1.0, $"{Tofu} dataloader.py:101-111"),
        S("retain-loss", "nll", $"{Tofu} dataloader.py:101-111"),
        S("kl-reduction", "batchmean", $"{Tofu} dataloader.py:131"),
        .. DeepSpeedTrainer($"{Tofu} forget.py:88-111", $"{Tofu} config/ds_config.json"),
    ];

    private static IEnumerable<Setting> OpenUnlearningTofu() =>
    [
        S("lr", 1e-5, $"{Open} configs/experiment/unlearn/tofu/default.yaml:45"),
        S("epochs", 10, $"{Open} configs/experiment/unlearn/tofu/default.yaml:47"),
        S("batch-size", 4, $"{Open} scripts/tofu_unlearn.sh:26"),
        S("grad-accum", 8, $"{Open} scripts/tofu_unlearn.sh:27 (4) × 2 GPUs (line 50)"),
        S("batching", StepPlan.Stream, $"{Open} src/trainer/__init__.py:39-42 (its warmup; Trainer's own step count differs, docs/fidelity.md)"),
        S("warmup", "1e", $"{Open} configs/experiment/unlearn/tofu/default.yaml:44"),
        S("weight-decay", 0.01, $"{Open} configs/experiment/unlearn/tofu/default.yaml:46"),
        S("max-length", 512, $"{Open} configs/data/datasets/TOFU_QA_forget.yaml:10"),
        S("kl-reduction", "batchmean", $"{Open} src/trainer/utils.py:29-31"),
        .. DeepSpeedTrainer($"{Open} configs/trainer/finetune.yaml", $"{Open} configs/accelerate/zero_stage3_offload_config.json"),
    ];

    private static IEnumerable<Setting> Npo() =>
    [
        S("beta", 0.1, $"{Open} configs/trainer/NPO.yaml:6"),
        S("forget-weight", 1.0, $"{Open} configs/trainer/NPO.yaml:8 (gamma)"),
        S("retain-weight", 1.0, $"{Open} configs/trainer/NPO.yaml:7 (alpha)"),
        S("retain-loss", "nll", $"{Open} configs/trainer/NPO.yaml:9"),
    ];

    private static IEnumerable<Setting> GradDiff() =>
    [
        S("forget-weight", 1.0, $"{Open} configs/trainer/GradDiff.yaml:6 (gamma)"),
        S("retain-weight", 1.0, $"{Open} configs/trainer/GradDiff.yaml:7 (alpha)"),
        S("retain-loss", "nll", $"{Open} configs/trainer/GradDiff.yaml:8"),
    ];

    private static IEnumerable<Setting> SimNpoMuse(string preset)
    {
        var (beta, line) = preset == "muse-news" ? (0.7, 30) : (0.75, 33);
        var command = $"{Simple} MUSE/README.md:{line}";
        const string Iterative = $"{Simple} MUSE/baselines/baselines/iterative.py";
        return
        [
            S("lr", 1e-5, command),
            S("epochs", 10, command),
            S("batch-size", 4, $"{command} (per device; one process)"),
            S("grad-accum", 1, $"{HfDefault} {Iterative}:54-64)"),
            S("batching", StepPlan.Epoch, $"{Iterative}:57-59 (num_train_epochs)"),
            S("schedule", "constant", $"{Iterative}:61"),
            S("warmup", "0", $"{HfDefault} {Iterative}:54-64)"),
            S("weight-decay", 0.0, $"{HfDefault} {Iterative}:54-64)"),
            S("max-grad-norm", 1.0, $"{HfDefault} {Iterative}:54-64; no DeepSpeed)"),
            S("max-length", 2048, command),
            S("beta", beta, command),
            S("forget-weight", 1.0, $"{command} (npo_coeff)"),
            S("retain-weight", 0.1, $"{command} (coeff)"),
            S("retain-loss", "nll", $"{command} (simnpo_gdr), {Iterative}:169-171"),
            S("gamma", 0.1, $"{Simple} MUSE/baselines/unlearn.py:118-120 (default)"),
            S("gamma-form", "code", $"{Iterative}:163-164"),
            S("kl-reduction", "batchmean", $"{Iterative}:177-182"),
        ];
    }

    private static IEnumerable<Setting> OpenUnlearningMuse() =>
    [
        S("lr", 1e-5, $"{Open} configs/experiment/unlearn/muse/default.yaml:46"),
        S("epochs", 10, $"{Open} configs/experiment/unlearn/muse/default.yaml:47"),
        S("batch-size", 4, $"{Open} scripts/muse_unlearn.sh:7"),
        S("grad-accum", 16, $"{Open} scripts/muse_unlearn.sh:8 (8) × 2 GPUs (line 35)"),
        S("batching", StepPlan.Epoch, $"{Open} configs/experiment/unlearn/muse/default.yaml:47 (num_train_epochs)"),
        S("schedule", "constant", $"{Open} configs/experiment/unlearn/muse/default.yaml:48"),
        S("warmup", "0", $"{Open} configs/experiment/unlearn/muse/default.yaml (no warmup_epochs)"),
        S("weight-decay", 0.0, $"{Open} configs/trainer/finetune.yaml:18"),
        S("max-grad-norm", 0.0, $"{Open} configs/accelerate/zero_stage3_offload_config.json: no gradient_clipping, so DeepSpeed's default 0 (none)"),
        S("max-length", 2048, $"{Open} configs/data/datasets/MUSE_forget.yaml:9"),
        S("kl-reduction", "batchmean", $"{Open} src/trainer/utils.py:29-31"),
    ];
}
