using SimNpo.Model;

namespace SimNpo.Unlearn.Objectives;

/// <summary>
/// A loss over a batch's per-sequence log-probs, with its derivative with respect to each sequence's log-prob.
/// Every token of sequence i then gets that derivative as the weight of its log-softmax gradient: the per-sequence
/// reduction and weighting of the fused loss in SPEC.md.
/// </summary>
public interface ISequenceObjective
{
    string Name { get; }

    ObjectiveValue Evaluate(SequenceScores scores);
}

/// <summary>The loss and dLoss/dlog πθ(y_i|x_i) per sequence.</summary>
public sealed record ObjectiveValue(double Loss, double[] SequenceWeights);

/// <summary>log σ(z) and σ(z) without overflow for large |z|.</summary>
public static class Logistic
{
    public static double LogSigmoid(double z) => -(Math.Max(-z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z))));

    public static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));
}
