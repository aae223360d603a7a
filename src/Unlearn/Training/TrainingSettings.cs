using System.Text.Json;
using System.Text.Json.Serialization;
using SimNpo.Kernels.Runtime;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// Everything that decides what a training run computes. Defaults follow the public TOFU setup of SPEC.md (AdamW,
/// lr 1e-5, weight decay 0.01, 10 epochs, 1 warmup epoch then linear decay, β 2.5, γ 0, effective batch 32); a preset
/// (<see cref="TrainingPresets"/>) gives the official per-split values.
/// Saved beside the output as run.json, in the same kebab-case names as the command-line options, so a saved run can be
/// fed back with --config.
/// </summary>
public sealed record TrainingSettings
{
    public static readonly string[] RetainLosses = ["nll", "kl"];

    /// <summary>
    /// How the KL retain term is averaged. answer-mean: over the retain answers' tokens (and EOS), the tokens the NLL term
    /// scores. batchmean: the public code's kl_div(..., reduction='batchmean') over the [batch·length, vocab] view of the
    /// padded batch (Unlearn-Simple TOFU/dataloader.py line 356, inputs padded to max_length by data_module.py line 23):
    /// KL summed over every position of the retain examples, prompt included, divided by batch × max-length.
    /// batchmean-longest: the same divided by batch × the batch's longest example, as open-unlearning pads
    /// (src/data/collators.py, pad_sequence to the longest; src/trainer/utils.py lines 21-31).
    /// </summary>
    public static readonly string[] KlReductions = ["answer-mean", "batchmean", "batchmean-longest"];

    /// <summary>The preset these values started from (<see cref="TrainingPresets"/>), recorded in run.json; null for none.</summary>
    public string? Preset { get; init; }

    /// <summary>A name in <see cref="Methods.TrainingMethods"/>: simnpo, npo, ga, graddiff, idkpo; nll is plain fine-tuning (finetune, relearning).</summary>
    public string Method { get; init; } = "simnpo";
    public double? Beta { get; init; }
    public double Gamma { get; init; }
    /// <summary>How γ enters σ (<see cref="Objectives.GammaForm"/>): paper (γ, the default) or code (β·γ).</summary>
    public string GammaForm { get; init; } = Objectives.GammaForm.Paper;
    public double ForgetWeight { get; init; } = 1;
    /// <summary>λ on the retain term; the paper's placement. GA has no retain term, GradDiff is GA with it.</summary>
    public double RetainWeight { get; init; } = 1;
    public string RetainLoss { get; init; } = "nll";
    public string KlReduction { get; init; } = "answer-mean";

    /// <summary>Whether the KL retain term sums every position, as the public codes' batchmean does, rather than the answer tokens.</summary>
    public bool KlOverEveryPosition => RetainLoss == "kl" && KlReduction != "answer-mean";
    [JsonPropertyName("lr")]
    public double LearningRate { get; init; } = 1e-5;
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 4;
    public int GradAccum { get; init; } = 8;
    /// <summary>How optimizer steps cover the epochs (<see cref="StepPlan"/>): epoch, or stream as the public TOFU code.</summary>
    public string Batching { get; init; } = StepPlan.Epoch;
    /// <summary>Warmup as "N" steps or "Ne" epochs (e.g. "1e": one epoch, the public code's choice).</summary>
    public string Warmup { get; init; } = "1e";
    public string Schedule { get; init; } = "linear";
    public double WeightDecay { get; init; } = 0.01;
    public double MaxGradNorm { get; init; } = 1.0;
    public int Seed { get; init; }
    public int MaxLength { get; init; } = 512;
    /// <summary>Drop the records too long to train (<see cref="Data.ExampleLength"/>) instead of refusing their file; unset, it is not written.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool SkipLong { get; init; }
    /// <summary>Optimizer steps between checkpoints; 0 saves only at the end of each epoch.</summary>
    public int SaveEvery { get; init; }
    /// <summary>Optimizer steps between evaluations of the forget and retain log-probs; 0 for none.</summary>
    public int EvalEvery { get; init; }
    public string Device { get; init; } = Devices.Default;
    /// <summary>none or layers (<see cref="Model.Recompute"/>): the same gradients either way, recorded so a resume keeps the run's.</summary>
    public string Recompute { get; init; } = "none";
    /// <summary>How weights, activations and gradients are stored (<see cref="Kernels.Precision"/>): fp32 or bf16 (then over float32 master weights).</summary>
    public string Precision { get; init; } = Kernels.Precision.Fp32.Name;
    /// <summary>How AdamW's moments are stored: fp32, or bf16 to halve their memory.</summary>
    public string OptimizerState { get; init; } = "fp32";
    /// <summary>The dtype the final model is written in (f32, bf16, f16); null: the dtype the model was loaded in.</summary>
    public string? SaveDType { get; init; }

    public static readonly string[] OptimizerStates = ["fp32", "bf16"];

    [JsonIgnore]
    public Kernels.Storage MomentStorage => OptimizerState == "bf16" ? Kernels.Storage.BFloat16 : Kernels.Storage.Native;

    /// <summary>The descriptor of <see cref="Method"/>: its objective, batch layout, retain term and what it needs.</summary>
    [JsonIgnore]
    public Methods.TrainingMethod TrainingMethod => Methods.TrainingMethods.Get(Method);

    [JsonIgnore]
    public bool UsesRetainTerm => TrainingMethod.HasRetainTerm && RetainWeight != 0;

    /// <summary>The optimizer these settings ask for (AdamW's betas and epsilon at their defaults).</summary>
    [JsonIgnore]
    public AdamWSettings AdamW => new(WeightDecay: WeightDecay, MaxGradNorm: MaxGradNorm);

    /// <summary>Problems in the settings themselves, named by their option; null when there are none.</summary>
    public string? Problem()
    {
        if (Methods.TrainingMethods.Find(Method) is null)
            return $"method '{Method}' is not one of {Methods.TrainingMethods.NameList(Methods.TrainingMethods.All)}";
        if (!Kernels.Precision.All.Any(p => p.Name == Precision)) return $"precision '{Precision}' is not one of {string.Join(", ", Kernels.Precision.All)}";
        if (!OptimizerStates.Contains(OptimizerState)) return $"optimizer-state '{OptimizerState}' is not one of {string.Join(", ", OptimizerStates)}";
        if (SaveDType is { } saveDType && !Model.ModelFiles.SaveDTypes.ContainsKey(saveDType))
            return $"save-dtype '{saveDType}' is not one of {string.Join(", ", Model.ModelFiles.SaveDTypes.Keys)}";
        if (!RetainLosses.Contains(RetainLoss)) return $"retain-loss '{RetainLoss}' is not one of {string.Join(", ", RetainLosses)}";
        if (!KlReductions.Contains(KlReduction)) return $"kl-reduction '{KlReduction}' is not one of {string.Join(", ", KlReductions)}";
        if (!Objectives.GammaForm.All.Contains(GammaForm)) return $"gamma-form '{GammaForm}' is not one of {string.Join(", ", Objectives.GammaForm.All)}";
        if (!StepPlan.All.Contains(Batching)) return $"batching '{Batching}' is not one of {string.Join(", ", StepPlan.All)}";
        if (Preset is { } preset && !TrainingPresets.Names.Contains(preset))
            return $"preset '{preset}' is not one of {string.Join(", ", TrainingPresets.Names)}";
        // NaN passes every comparison, so each number is checked for being finite before its range.
        if (Beta is { } beta && !(double.IsFinite(beta) && beta > 0)) return $"beta must be a positive number, got {beta}";
        if (!double.IsFinite(Gamma)) return $"gamma must be a finite number, got {Gamma}";
        if (!double.IsFinite(ForgetWeight)) return $"forget-weight must be a finite number, got {ForgetWeight}";
        if (!(double.IsFinite(RetainWeight) && RetainWeight >= 0)) return $"retain-weight must be a non-negative number, got {RetainWeight}";
        if (!(LearningRate >= 0) || !double.IsFinite(LearningRate)) return "lr must be a non-negative number";
        if (!double.IsFinite(WeightDecay)) return $"weight-decay must be a finite number, got {WeightDecay}";
        if (Epochs < 1) return "epochs must be at least 1";
        if (BatchSize < 1) return "batch-size must be at least 1";
        if (GradAccum < 1) return "grad-accum must be at least 1";
        if (MaxLength < 2) return "max-length must be at least 2";
        if (SaveEvery < 0 || EvalEvery < 0) return "save-every and eval-every must not be negative";
        if (!(double.IsFinite(MaxGradNorm) && MaxGradNorm >= 0)) return $"max-grad-norm must be a non-negative number (0: no clipping), got {MaxGradNorm}";
        if ((long)BatchSize * GradAccum > int.MaxValue)
            return $"batch-size × grad-accum = {(long)BatchSize * GradAccum} examples per step is more than {int.MaxValue}";
        if (!Model.RecomputeNames.All.Contains(Recompute)) return $"recompute '{Recompute}' is not one of {string.Join(", ", Model.RecomputeNames.All)}";
        if (!TryParseWarmup(Warmup, out _, out _)) return $"warmup '{Warmup}' must be a number of steps (\"10\") or of epochs (\"1e\", \"0.5e\")";
        try
        {
            LearningRateSchedule.ParseKind(Schedule);
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
        return null;
    }

    /// <summary>Warmup in optimizer steps for a run of stepsPerEpoch steps per epoch.</summary>
    public int WarmupSteps(int stepsPerEpoch)
    {
        TryParseWarmup(Warmup, out var amount, out var inEpochs);
        // A warmup longer than any run is as good as int.MaxValue steps; the trainer cuts it to the run's length.
        if ((inEpochs ? amount * stepsPerEpoch : amount) >= int.MaxValue) return int.MaxValue;
        return inEpochs ? LearningRateSchedule.WarmupStepsFromEpochs(amount, stepsPerEpoch) : (int)amount;
    }

    private static bool TryParseWarmup(string text, out double amount, out bool inEpochs)
    {
        inEpochs = text.EndsWith('e');
        var number = inEpochs ? text[..^1] : text;
        return double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out amount)
            && double.IsFinite(amount) && amount >= 0 && (inEpochs || amount == Math.Floor(amount));
    }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
