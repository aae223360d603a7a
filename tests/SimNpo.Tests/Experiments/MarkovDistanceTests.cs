using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Unlearn.Experiments;

namespace SimNpo.Tests.Experiments;

/// <summary>
/// The study's metric against a hand computation: KL(retrained ‖ model) and KL(true rows ‖ model), summed over the states
/// and averaged over the scored tokens of the set (evaluate_utils.py). The hand side runs each sequence alone (no padding)
/// through float64 copies of the two models. Before the fidelity change the metric was only KL(true rows ‖ model), over 12
/// tokens, so this test does not compile against that code.
/// </summary>
public class MarkovDistanceTests
{
    private static LlamaConfig Tiny => MarkovMixture.ModelConfig(width: 16, layers: 1);

    /// <summary>Weights large enough (std 0.3) that the two models' next-state distributions clearly differ.</summary>
    private static LlamaModel<T> Model<T>(IOps<T> ops, int seed) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var model = new LlamaModel<T>(Tiny, ops);
        ModelInitializer.Randomize(model, seed, std: 0.3);
        return model;
    }

    // Mixed lengths, so the batch is padded: 3 + 2 + 5 + 4 scored tokens.
    private static readonly TokenizedExample[] Examples = [new([3], [4, 9, 5]), new([6], [1, 3]), new([5], [5, 4, 0, 3, 8]), new([9], [2, 4, 3, 3])];

    private static double[] LogSoftmax(double[] logits, int row, int vocabulary)
    {
        var slice = logits.Skip(row * vocabulary).Take(vocabulary).ToArray();
        var logSum = Math.Log(slice.Sum(Math.Exp));
        return slice.Select(x => x - logSum).ToArray();
    }

    /// <summary>
    /// The float32 models' weights are the float64 ones rounded (relative 6e-8); through one layer of width 16 the logits
    /// (of size ≲ 3) then differ by ≲ 1e-6, the log-probs by ≲ 2e-6, and each token's KL, a sum of p·(r − q) over 10
    /// states with Σp = 1, by ≲ 4e-6: 1e-5 bounds the difference, while a wrong direction, reduction or row fails by far more.
    /// </summary>
    [Test]
    public void MeasureIsTheTokenMeanOfTheHandDivergences()
    {
        const int chain = 1;
        using var retrained = Model(new ReferenceOps<float>(), seed: 1);
        using var model = Model(new ReferenceOps<float>(), seed: 2);
        using var retrained64 = Model(new ReferenceOps<double>(), seed: 1);
        using var model64 = Model(new ReferenceOps<double>(), seed: 2);
        var measured = new MarkovDistance(Examples, chain, retrained).Measure(model);

        var transitions = MarkovMixture.Transitions(chain);
        var (toRetrained, toTrueRows, tokens) = (0.0, 0.0, 0);
        foreach (var example in Examples)
        {
            var batch = TokenBatch.FromExamples([example]);
            var r = retrained64.ForwardLogits(batch).ToArray();
            var q = model64.ForwardLogits(batch).ToArray();
            var states = example.PromptIds.Concat(example.AnswerIds).ToArray();
            for (var t = 0; t < states.Length - 1; t++, tokens++)
            {
                var (logR, logQ, truth) = (LogSoftmax(r, t, 10), LogSoftmax(q, t, 10), transitions[states[t]]);
                for (var s = 0; s < 10; s++)
                {
                    toRetrained += Math.Exp(logR[s]) * (logR[s] - logQ[s]);
                    toTrueRows += truth[s] * (Math.Log(truth[s]) - logQ[s]);
                }
            }
        }
        Assert.That(tokens, Is.EqualTo(14));
        Assert.That(measured.Retrained, Is.GreaterThan(0.05), "the two random models should disagree");
        Assert.That(measured.Retrained, Is.EqualTo(toRetrained / tokens).Within(1e-5));
        Assert.That(measured.TrueRows, Is.EqualTo(toTrueRows / tokens).Within(1e-5));
    }

    [Test]
    public void TheRetrainedModelIsAtDistanceZeroFromItself()
    {
        using var retrained = Model(new ReferenceOps<float>(), seed: 1);
        // The same forward twice gives the same log-probs bit for bit, so every term r·(r − q) is exactly 0.
        Assert.That(new MarkovDistance(Examples, 2, retrained).Measure(retrained).Retrained, Is.EqualTo(0));
    }
}
