using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>Mean over a set of ℓ = log πθ(y|x)/|y|: how likely the model finds the answers, length alike.</summary>
public static class NormalisedLogProb
{
    /// <summary>With a group, the batches are split across its ranks and the values summed in example order: the same bits for any N.</summary>
    public static double Mean<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, int batchSize, int maxLength, ICommunicator? group = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (examples.Count == 0) throw new ArgumentException("no examples to evaluate");
        var batches = examples.Chunk(batchSize).ToArray();
        var values = ParallelItems.Map(group, batches.Length, b =>
        {
            var scores = model.Forward(TokenBatch.FromExamples(batches[b], maxLength)).Scores;
            return Enumerable.Range(0, scores.Count).Select(scores.NormalisedLogProb).ToArray();
        }, ItemCodecs.Doubles, ("mean log-prob", "batches"));
        var sum = 0.0;
        foreach (var value in values.SelectMany(batch => batch)) sum += value;
        return sum / examples.Count;
    }
}
