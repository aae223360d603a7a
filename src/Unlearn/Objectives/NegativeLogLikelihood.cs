using SimNpo.Model;

namespace SimNpo.Unlearn.Objectives;

/// <summary>
/// Token-mean NLL over every scored token of the batch (Hugging Face's `loss`): fine-tuning, retain terms, relearning.
/// With ascend = true it is gradient ascent (GA): the same quantity negated.
/// </summary>
public sealed class NegativeLogLikelihood(bool ascend = false) : ISequenceObjective
{
    public string Name => ascend ? "ga" : "nll";

    public ObjectiveValue Evaluate(SequenceScores scores)
    {
        var tokens = scores.TotalLength;
        if (tokens == 0) throw new ArgumentException("the batch has no scored tokens");
        var sign = ascend ? -1.0 : 1.0;
        var loss = -sign * scores.LogProb.Sum() / tokens;
        return new ObjectiveValue(loss, Enumerable.Repeat(-sign / tokens, scores.Count).ToArray());
    }
}
