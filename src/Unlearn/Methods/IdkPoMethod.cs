using SimNpo.Model;
using SimNpo.Unlearn.Objectives;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Methods;

/// <summary>
/// IdkPO (<see cref="IdkPoObjective"/>): DPO towards an "I don't know" answer, with the retain term. Its forget batch
/// scores the refusals and the true answers of the same questions together: [w_1..w_N, l_1..l_N].
/// </summary>
public sealed class IdkPoMethod : TrainingMethod
{
    public override string Name => "idkpo";
    public override string Summary => $"DPO towards \"I don't know\" answers (--refusals; β default {NpoObjective.DefaultBeta})";
    public override int ListOrder => 50;
    public override double? DefaultBeta => NpoObjective.DefaultBeta;
    public override bool NeedsReferenceLogProbs => true;
    public override bool NeedsRefusals => true;
    public override bool HasRetainTerm => true;

    protected override ISequenceObjective CreateObjective(double? beta, double gamma, IReadOnlyList<double>? referenceLogProbs)
        => new IdkPoObjective(beta!.Value, referenceLogProbs!);

    public override IReadOnlyList<TokenizedExample> ForgetBatch(TrainingData data, int[] indices) =>
        [.. indices.Select(i => data.Refusals![i]), .. indices.Select(i => data.Forget[i])];

    public override double[]? BatchReferenceLogProbs(ReferenceLogProbs? reference, int[] indices) =>
        [.. indices.Select(i => Required(reference).Refusals![i]), .. indices.Select(i => Required(reference).Forget[i])];

    public override IEnumerable<int> ForgetAnswerPositions(int count) => Enumerable.Range(count, count);
}
