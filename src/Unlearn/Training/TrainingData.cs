using SimNpo.Model;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// The examples of a run, tokenized. Forget is the set trained on (unlearned, or learned for nll); Retain pairs one
/// example with each forget example; Refusals (IdkPO) holds, for each forget example, the same prompt with an
/// "I don't know" answer.
/// </summary>
public sealed record TrainingData(IReadOnlyList<TokenizedExample> Forget, IReadOnlyList<TokenizedExample> Retain,
    IReadOnlyList<TokenizedExample>? Refusals = null)
{
    public void Validate(TrainingSettings settings)
    {
        if (Forget.Count == 0) throw new ArgumentException("no examples to train on");
        if (settings.UsesRetainTerm && Retain.Count == 0)
            throw new ArgumentException($"{settings.Method} with retain-weight {settings.RetainWeight} needs a retain set (or set retain-weight 0)");
        if (settings.TrainingMethod.NeedsRefusals && Refusals?.Count != Forget.Count)
            throw new ArgumentException($"{settings.Method} needs one refusal example per forget example");
        // Steps are counted (logged, checkpointed, scheduled) in 32 bits.
        var total = StepPlan.CountSteps(Forget.Count, settings);
        if (total > int.MaxValue)
            throw new ArgumentException(
                $"epochs {settings.Epochs} over {Forget.Count} examples make {total} optimizer steps, more than a run can count ({int.MaxValue})");
        if (total == 0)
            throw new ArgumentException($"{settings.Batching} batching: epochs {settings.Epochs} × {Forget.Count} examples are fewer than one step of "
                + $"{settings.BatchSize * settings.GradAccum}");
    }
}
