using SimNpo.Unlearn.Objectives;

namespace SimNpo.Unlearn.Methods;

/// <summary>Plain fine-tuning with token-mean NLL (finetune, relearning, the target and retain models): not unlearning.</summary>
public sealed class NllMethod : TrainingMethod
{
    public override string Name => "nll";
    public override string Summary => "token-mean NLL: plain fine-tuning";
    public override int ListOrder => 100;
    public override bool Unlearns => false;
    /// <summary>Fine-tuning trains on one set; a retain set given to it is ignored, as before the registry.</summary>
    public override bool HasRetainTerm => false;

    protected override ISequenceObjective CreateObjective(double? beta, double gamma, IReadOnlyList<double>? referenceLogProbs) => new NegativeLogLikelihood();
}
