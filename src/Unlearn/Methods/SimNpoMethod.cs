using SimNpo.Unlearn.Objectives;

namespace SimNpo.Unlearn.Methods;

/// <summary>SimNPO: length-normalised, reference-free NPO (<see cref="SimNpoObjective"/>), with the retain term.</summary>
public sealed class SimNpoMethod : TrainingMethod
{
    public override string Name => "simnpo";
    public override string Summary => $"SimNPO, reference-free and length-normalised (β default {SimNpoObjective.DefaultBeta}, margin γ)";
    public override int ListOrder => 10;
    public override double? DefaultBeta => SimNpoObjective.DefaultBeta;
    public override bool HasRetainTerm => true;

    protected override ISequenceObjective CreateObjective(double? beta, double gamma, IReadOnlyList<double>? referenceLogProbs)
        => new SimNpoObjective(beta!.Value, gamma);
}
