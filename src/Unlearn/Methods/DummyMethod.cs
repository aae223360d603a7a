using SimNpo.Unlearn.Objectives;

namespace SimNpo.Unlearn.Methods;

/// <summary>Scratch: a method added only to count the files a new method touches.</summary>
public sealed class DummyMethod : TrainingMethod
{
    public override string Name => "dummy";
    public override string Summary => "scratch method (GA with β)";
    public override int ListOrder => 60;
    public override double? DefaultBeta => 7;
    public override bool HasRetainTerm => true;

    protected override ISequenceObjective CreateObjective(double? beta, double gamma, IReadOnlyList<double>? referenceLogProbs) => new NegativeLogLikelihood(ascend: true);
}
