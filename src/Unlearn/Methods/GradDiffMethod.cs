using SimNpo.Unlearn.Objectives;

namespace SimNpo.Unlearn.Methods;

/// <summary>GradDiff: GA's forget term plus the retain term.</summary>
public sealed class GradDiffMethod : TrainingMethod
{
    public override string Name => "graddiff";
    public override string Summary => "gradient ascent on the forget set plus the retain term";
    public override int ListOrder => 40;
    public override bool HasRetainTerm => true;
    /// <summary>Its forget term is ga's, which `grad` already checks.</summary>
    public override bool InGradCommand => false;

    protected override ISequenceObjective CreateObjective(double? beta, double gamma, IReadOnlyList<double>? referenceLogProbs)
        => new NegativeLogLikelihood(ascend: true);
}
