using SimNpo.Unlearn.Objectives;

namespace SimNpo.Unlearn.Methods;

/// <summary>Gradient ascent on the forget set's token-mean NLL, alone: GA has no retain term (GradDiff is GA with it).</summary>
public sealed class GaMethod : TrainingMethod
{
    public override string Name => "ga";
    public override string Summary => "gradient ascent on the forget set, no retain term";
    public override int ListOrder => 30;
    public override bool HasRetainTerm => false;

    protected override ISequenceObjective CreateObjective(double? beta, double gamma, IReadOnlyList<double>? referenceLogProbs)
        => new NegativeLogLikelihood(ascend: true);
}
