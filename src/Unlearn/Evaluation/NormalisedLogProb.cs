using System.Numerics;
using SimNpo.Model;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>Mean over a set of ℓ = log πθ(y|x)/|y|: how likely the model finds the answers, length alike.</summary>
public static class NormalisedLogProb
{
    public static double Mean<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, int batchSize, int maxLength)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (examples.Count == 0) throw new ArgumentException("no examples to evaluate");
        var sum = 0.0;
        foreach (var chunk in examples.Chunk(batchSize))
        {
            var scores = model.Forward(TokenBatch.FromExamples(chunk, maxLength)).Scores;
            for (var i = 0; i < scores.Count; i++) sum += scores.NormalisedLogProb(i);
        }
        return sum / examples.Count;
    }
}
