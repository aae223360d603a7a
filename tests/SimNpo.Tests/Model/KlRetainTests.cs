using SimNpo.Kernels;
using SimNpo.Model;

namespace SimNpo.Tests.Model;

/// <summary>The KL retain head of <see cref="LlamaModel{T}"/> on a tiny random model, in float64.</summary>
public class KlRetainTests
{
    private const double Weight = 1.7;

    private static LlamaConfig Tiny(bool tied) => new()
    {
        HiddenSize = 8, IntermediateSize = 12, NumHiddenLayers = 2, NumAttentionHeads = 2, NumKeyValueHeads = 1, HeadDim = 4,
        VocabSize = 11, TieWordEmbeddings = tied,
    };

    // Right-padded: lengths 6 and 4, scored answer rows 3 + 2 = 5.
    private static TokenBatch Batch() => TokenBatch.FromExamples([new([1, 4, 7], [3, 9, 2]), new([1, 5], [8, 2])]);

    /// <summary>Weights large enough (std 0.5, norms 1 ± 0.2) that the two models' next-token distributions clearly differ.</summary>
    private static LlamaModel<double> Model(LlamaConfig config, IOps<double> ops, int seed)
    {
        var model = new LlamaModel<double>(config, ops);
        ModelInitializer.Randomize(model, seed, std: 0.5, normStd: 0.2, biasStd: 0.3);
        return model;
    }

    [Test]
    public void KlOfTheReferenceItselfIsZeroWithZeroGradient()
    {
        var ops = new ReferenceOps<double>();
        using var reference = Model(Tiny(tied: false), ops, seed: 1);
        using var model = Model(Tiny(tied: false), ops, seed: 1);
        var targets = reference.ForwardLogProbs(Batch());
        model.ZeroGradients();
        // Both run the same float64 operations on the same weights: every term p·(t − x + lse) cancels to ~ε·|lse|.
        var kl = model.ForwardKl(Batch(), targets);
        Assert.That(kl.Value, Is.EqualTo(0).Within(1e-14));
        kl.Backward(Weight);
        Assert.That(model.Gradients.ToArray(), Is.All.EqualTo(0).Within(1e-14));
    }

    [Test]
    public void ForwardKlIsTheTokenMeanOfTheNaiveDivergence()
    {
        var ops = new ReferenceOps<double>();
        using var reference = Model(Tiny(tied: false), ops, seed: 2);
        using var model = Model(Tiny(tied: false), ops, seed: 1);
        var vocab = model.Config.VocabSize;
        var referenceLogits = reference.ForwardLogits(Batch()).ToArray();
        var logits = model.ForwardLogits(Batch()).ToArray();

        var targets = reference.ForwardLogProbs(Batch());
        var kl = model.ForwardKl(Batch(), targets).Value;
        double LogSoftmax(double[] x, int i) => x[i] - Math.Log(x.Skip(i / vocab * vocab).Take(vocab).Sum(Math.Exp));
        var expected = Enumerable.Range(0,
            logits.Length).Sum(i => Math.Exp(LogSoftmax(referenceLogits, i)) * (LogSoftmax(referenceLogits, i) - LogSoftmax(logits, i))) / 5;
        Assert.That(kl, Is.GreaterThan(0.05), "the two random models should disagree");
        Assert.That(kl, Is.EqualTo(expected).Within(1e-14)); // float64 sums of 55 terms of size < 10
    }

    /// <summary>
    /// Both heads on one set of gradients: d(Σ c_i·log πθ(y_i) + weight·KL)/dθ for every parameter, against central
    /// differences. This also checks that Backward keeps working after the split into a shared trunk and two heads.
    /// The embedding rows pass through an RMSNorm that makes |f′′′| large: the truncation error h²·|f′′′|/6 measured
    /// 6e-6, 6e-8, 6e-10 relative at h = 1e-4, 1e-5, 1e-6 (h² scaling, so the analytic side is right). At h = 1e-6 rounding
    /// ε·|L|/h with |L| < 10 adds ~2e-9 (largest error seen 3.6e-9), so 1e-7 relative to max(1, |gradient|) leaves a
    /// margin of 30 while a wrong or missing term is off by O(0.01) or more. Phi adds lm_head's bias to both heads (the
    /// full logits' AddBias and its backward in the KL head, the fused loss's bias in the other) and its LayerNorms.
    /// </summary>
    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    public void GradientsMatchCentralDifferences(bool tied, bool phi)
    {
        var ops = new ReferenceOps<double>();
        var config = phi ? Tiny(tied) with { Architecture = "PhiForCausalLM", PartialRotaryFactor = 0.5 } : Tiny(tied);
        using var reference = Model(config, ops, seed: 2);
        using var model = Model(config, ops, seed: 1);
        var batch = Batch();
        double[] sequenceWeights = [0.3, -0.8];
        var targets = reference.ForwardLogProbs(batch);

        model.ZeroGradients();
        model.Forward(batch).Backward(sequenceWeights);
        var kl = model.ForwardKl(batch, targets);
        Assert.That(kl.Value, Is.GreaterThan(0.05), "the two random models should disagree");
        kl.Backward(Weight);
        var analytic = model.Gradients.ToArray();

        var parameters = ((HostBuffer<double>)model.Parameters.Chunks.Single()).Array;
        double Loss()
        {
            var scores = model.Forward(batch).Scores;
            return scores.LogProb.Zip(sequenceWeights, (lp, c) => lp * c).Sum() + Weight * model.ForwardKl(batch, targets).Value;
        }
        const double h = 1e-6;
        for (var i = 0; i < parameters.Length; i++)
        {
            var saved = parameters[i];
            parameters[i] = saved + h;
            var plus = Loss();
            parameters[i] = saved - h;
            var minus = Loss();
            parameters[i] = saved;
            var numeric = (plus - minus) / (2 * h);
            Assert.That(analytic[i], Is.EqualTo(numeric).Within(1e-7 * Math.Max(1, Math.Abs(numeric))), $"parameter {i}");
        }
    }

    /// <summary>
    /// A backward without its forward does not compile (it runs from the pass the forward returns); what is left to refuse
    /// at run time: targets in the model's own activations or of the wrong length, a pass whose activations a later forward
    /// has overwritten, and a second backward of a KL pass, whose first wrote its gradient over the logits.
    /// </summary>
    [Test]
    public void RefusesMisusedTargetsAndStalePasses()
    {
        var ops = new ReferenceOps<double>();
        using var model = Model(Tiny(tied: false), ops, seed: 1);
        var ownLogProbs = model.ForwardLogProbs(Batch());
        Assert.Throws<ArgumentException>(() => model.ForwardKl(Batch(), ownLogProbs));
        Assert.Throws<ArgumentException>(() => model.ForwardKl(Batch(), ops.Allocate(4 * 11).All));
        using var reference = Model(Tiny(tied: false), ops, seed: 2);
        var kl = model.ForwardKl(Batch(), reference.ForwardLogProbs(Batch()));
        var logProbs = model.Forward(Batch());
        Assert.Throws<InvalidOperationException>(() => kl.Backward(Weight), "a forward in between overwrote the KL pass's logits");
        model.ForwardLogits(Batch());
        Assert.Throws<InvalidOperationException>(() => logProbs.Backward([1, 1]), "so does any forward, of any head");
        var again = model.ForwardKl(Batch(), reference.ForwardLogProbs(Batch()));
        again.Backward(Weight);
        Assert.Throws<InvalidOperationException>(() => again.Backward(Weight), "a KL pass runs its backward once");
    }
}
