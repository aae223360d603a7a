namespace SimNpo.Unlearn.Training;

/// <summary>One optimizer step as the log records it (log.jsonl, one JSON object per line).</summary>
public sealed record StepRecord
{
    public required int Step { get; init; }
    public required int Epoch { get; init; }
    public required double LearningRate { get; init; }
    /// <summary>w_f·L_f + λ·L_r, averaged over the step's micro-batches.</summary>
    public required double Loss { get; init; }
    public required double ForgetLoss { get; init; }
    public double? RetainLoss { get; init; }
    public required double GradNorm { get; init; }
    /// <summary>Mean over the step's forget sequences of ℓ = log πθ(y|x)/|y|, before the update.</summary>
    public required double ForgetNormalisedLogProb { get; init; }
    public required int Tokens { get; init; }
    public required double Seconds { get; init; }
    /// <summary>Evaluation hook results at this step (e.g. forget and retain mean ℓ over their whole sets).</summary>
    public IReadOnlyDictionary<string, double>? Eval { get; init; }
}
