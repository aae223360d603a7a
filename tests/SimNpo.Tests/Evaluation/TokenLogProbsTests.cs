using SimNpo.Model;
using SimNpo.Tests.Training;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>Per-token log-probs (for Min-K%) against the model's own per-sequence sums and per-token mean losses.</summary>
public class TokenLogProbsTests
{
    /// <summary>
    /// One value per scored token, each a log-probability (≤ 0), summing to the model's float32 sequence sum: within 1e-4,
    /// the float32 rounding of six log-softmax values below 10 in magnitude (~1e-6 each) with room to spare.
    /// </summary>
    [Test]
    public void TokensSumToTheSequenceLogProb()
    {
        using var model = TinyTask.NewModel(seed: 4);
        var examples = TinyTask.Forget.Take(5).ToArray();
        var perToken = TokenLogProbs.Compute(model, examples, batchSize: 2, maxLength: 64);
        var sums = model.Forward(TokenBatch.FromExamples(examples)).Scores;
        var losses = AnswerLosses.Compute(model, examples, batchSize: 3, maxLength: 64);
        for (var i = 0; i < examples.Length; i++)
        {
            Assert.That(perToken[i], Has.Length.EqualTo(examples[i].AnswerIds.Count).And.All.LessThanOrEqualTo(0));
            Assert.That(perToken[i].Sum(), Is.EqualTo(sums.LogProb[i]).Within(1e-4));
            Assert.That(losses[i], Is.EqualTo(-sums.LogProb[i] / sums.Length[i]).Within(1e-4));
        }
    }
}
