namespace SimNpo.Unlearn.Training;

/// <summary>The loss or gradient stopped being finite; nothing was updated at that step and earlier checkpoints stand.</summary>
public sealed class TrainingDivergedException(int step, string what, string? lastCheckpoint)
    : Exception($"step {step}: {what}; training stopped before updating the model" +
        (lastCheckpoint is null ? " (no checkpoint was written yet)" : $"; the last good checkpoint is {lastCheckpoint}"))
{
    public int Step { get; } = step;
}
