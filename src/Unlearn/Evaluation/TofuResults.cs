namespace SimNpo.Unlearn.Evaluation;

/// <summary>Everything measured on one TOFU item. Losses are per-token mean NLL (NLL/|y|).</summary>
public sealed record TofuItemResult
{
    /// <summary>The item's line in the split file.</summary>
    public required int Line { get; init; }
    public required string Question { get; init; }
    public required string Answer { get; init; }
    public required string Generation { get; init; }
    public required double AnswerLoss { get; init; }
    /// <summary>Loss of the answer the truth ratio treats as true: the paraphrased answer, or the answer where there is none.</summary>
    public required double BaseLoss { get; init; }
    public required IReadOnlyList<double> PerturbedLosses { get; init; }
    public required double Prob { get; init; }
    /// <summary>R, raw: forget quality compares these.</summary>
    public required double TruthRatio { get; init; }
    public required double RougeLRecall { get; init; }
}

/// <summary>One split's items and the three numbers TOFU reports for it.</summary>
public sealed record TofuSplitResult
{
    public required string Name { get; init; }
    public required string File { get; init; }
    /// <summary>The answer field the truth ratio sets against the perturbed answers.</summary>
    public required string BaseAnswerField { get; init; }
    public required double Prob { get; init; }
    public required double RougeLRecall { get; init; }
    /// <summary>mean(min(R, 1/R)) on the forget split, mean(max(0, 1 − 1/R)) elsewhere.</summary>
    public required double TruthRatio { get; init; }
    public required IReadOnlyList<TofuItemResult> Items { get; init; }

    public static TofuSplitResult From(TofuSplit split, IReadOnlyList<TofuItemResult> items) => new()
    {
        Name = split.Name,
        File = split.FileName,
        BaseAnswerField = split.BaseAnswerField,
        Prob = items.Average(i => i.Prob),
        RougeLRecall = items.Average(i => i.RougeLRecall),
        TruthRatio = TofuMetrics.TruthRatioScore(items.Select(i => i.TruthRatio).ToArray(), split.IsForget),
        Items = items,
    };
}
