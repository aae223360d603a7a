using SimNpo.Unlearn.Objectives;

namespace SimNpo.Unlearn.Methods;

/// <summary>NPO against the model before unlearning (<see cref="NpoObjective"/>), with the retain term.</summary>
public sealed class NpoMethod : TrainingMethod
{
    public override string Name => "npo";
    public override string Summary => $"NPO against the model before unlearning (β default {NpoObjective.DefaultBeta})";
    public override int ListOrder => 20;
    public override double? DefaultBeta => NpoObjective.DefaultBeta;
    public override bool NeedsReferenceLogProbs => true;
    public override bool HasRetainTerm => true;

    protected override ISequenceObjective CreateObjective(double? beta, double gamma, IReadOnlyList<double>? referenceLogProbs)
        => new NpoObjective(beta!.Value, referenceLogProbs!);
}
