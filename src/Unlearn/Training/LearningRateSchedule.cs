namespace SimNpo.Unlearn.Training;

public enum LearningRateScheduleKind
{
    Constant,
    Linear,
    Cosine,
}

/// <summary>
/// The learning rate of each optimizer step, as Hugging Face's schedulers give it (get_constant_schedule_with_warmup,
/// get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup): with s the 0-based step, W warmup steps and S
/// steps in all, lr = peak·s/W while s &lt; W, then constant: peak; linear: peak·(S−s)/(S−W); cosine:
/// peak·0.5·(1 + cos(π·(s−W)/(S−W))). Like Hugging Face, step 0 of a warmup trains at lr 0 and the decay divisor is
/// at least 1 (W = S stays defined); Hugging Face's max(0, ·) clamps are not needed because s &lt; S here, so the last
/// step still trains at peak/(S−W) (linear).
/// </summary>
public sealed class LearningRateSchedule
{
    public LearningRateSchedule(LearningRateScheduleKind kind, double peakLearningRate, int totalSteps, int warmupSteps)
    {
        if (!double.IsFinite(peakLearningRate) || peakLearningRate < 0)
            throw new ArgumentOutOfRangeException(nameof(peakLearningRate), $"learning rate must be finite and non-negative, got {peakLearningRate}");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        Kind = kind;
        PeakLearningRate = peakLearningRate;
        TotalSteps = totalSteps;
        WarmupSteps = warmupSteps;
    }

    public LearningRateScheduleKind Kind { get; }
    public double PeakLearningRate { get; }
    public int TotalSteps { get; }
    public int WarmupSteps { get; }

    public double At(int step)
    {
        if (step < 0 || step >= TotalSteps) throw new ArgumentOutOfRangeException(nameof(step), $"step {step} outside 0..{TotalSteps - 1}");
        if (step < WarmupSteps) return PeakLearningRate * step / WarmupSteps;
        double decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        return Kind switch
        {
            LearningRateScheduleKind.Constant => PeakLearningRate,
            LearningRateScheduleKind.Linear => PeakLearningRate * ((TotalSteps - step) / decaySteps),
            LearningRateScheduleKind.Cosine => PeakLearningRate * 0.5 * (1 + Math.Cos(Math.PI * ((step - WarmupSteps) / decaySteps))),
            _ => throw new InvalidOperationException($"unknown schedule kind {Kind}"),
        };
    }

    public static LearningRateScheduleKind ParseKind(string name) => name switch
    {
        "constant" => LearningRateScheduleKind.Constant,
        "linear" => LearningRateScheduleKind.Linear,
        "cosine" => LearningRateScheduleKind.Cosine,
        _ => throw new ArgumentException($"unknown learning-rate schedule '{name}': expected constant, linear or cosine", nameof(name)),
    };

    /// <summary>
    /// Warmup given in epochs, in steps: max(1, floor(stepsPerEpoch·epochs)). The public TOFU code (forget.py) passes
    /// warmup_steps=max(1, steps_per_epoch) with steps_per_epoch = len(data) // effective batch, i.e. one epoch rounded
    /// down and never below one step (also when the data is smaller than one batch and steps_per_epoch is 0); this
    /// generalises it to any number of epochs with the same rounding. Zero epochs means no warmup.
    /// </summary>
    public static int WarmupStepsFromEpochs(double epochs, int stepsPerEpoch)
    {
        if (!double.IsFinite(epochs) || epochs < 0)
            throw new ArgumentOutOfRangeException(nameof(epochs), $"warmup epochs must be finite and non-negative, got {epochs}");
        ArgumentOutOfRangeException.ThrowIfNegative(stepsPerEpoch);
        if (epochs == 0) return 0;
        return checked((int)Math.Max(1, Math.Floor(stepsPerEpoch * epochs)));
    }
}
