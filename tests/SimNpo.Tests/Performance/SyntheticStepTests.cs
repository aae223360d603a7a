using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Performance;

public class SyntheticStepTests
{
    /// <summary>A model small enough for a step in milliseconds, with every dimension distinct so a swapped one shows.</summary>
    public static readonly LlamaConfig Tiny =
        LlamaConfig.Shaped(hidden: 32, intermediate: 48, layers: 2, heads: 4, kvHeads: 2, headDim: 8, vocab: 96, maxPositions: 64);

    private static double[] Losses(IOps<float> ops, int steps)
    {
        using var step = SyntheticStep.Randomized(ops, Tiny, batchSize: 3, sequenceLength: 12, seed: 7, learningRate: 1e-2);
        return Enumerable.Range(0, steps).Select(_ => step.Run()).ToArray();
    }

    /// <summary>
    /// The fast CPU backend sums the matmuls in another order than the reference: float32 rounding, about 1e-7 relative
    /// per op, that reaches the loss through two layers and three AdamW updates (whose m/√v does not amplify a gradient's
    /// relative error). 1e-5 relative leaves a margin of 100 over that.
    /// </summary>
    [Test]
    public void FastCpuAndReferenceGiveTheSameLosses()
    {
        var reference = Losses(new ReferenceOps<float>(), 4);
        var fast = Losses(new FastCpuOps(), 4);
        for (var i = 0; i < reference.Length; i++)
            Assert.That(fast[i], Is.EqualTo(reference[i]).Within(1e-5 * Math.Abs(reference[i])), $"step {i + 1}");
    }

    [Test]
    public void UnlearningLowersTheLossStepByStep()
    {
        var losses = Losses(new ReferenceOps<float>(), 5);
        for (var i = 1; i < losses.Length; i++)
            Assert.That(losses[i], Is.LessThan(losses[i - 1]), $"step {i + 1}: {string.Join(", ", losses)}");
    }

    [Test]
    public void CountsTokensAndFlops()
    {
        using var step = SyntheticStep.Randomized(new ReferenceOps<float>(), Tiny, batchSize: 3, sequenceLength: 12, seed: 1);
        Assert.That(step.Tokens, Is.EqualTo(36));
        Assert.That(step.ScoredTokens, Is.EqualTo(3 * (12 - SyntheticStep.PromptLength)));
        Assert.That(step.Flops, Is.EqualTo(StepFlops.Of(Tiny, 3, 12, 24)));
    }

    [Test]
    public void RefusesASequenceLongerThanTheModelsPositions() =>
        Assert.That(() => SyntheticStep.Randomized(new ReferenceOps<float>(), Tiny, 1, 65, 0),
            Throws.ArgumentException.With.Message.Contains("passes the model's 64 positions"));

    [Test]
    public void RefusesABatchWhoseActivationsPassOneBuffer() =>
        Assert.That(() => SyntheticStep.Randomized(new ReferenceOps<float>(), BenchmarkModels.Get("1B").Config with { NumHiddenLayers = 1 }, 64, 512, 0),
            Throws.ArgumentException.With.Message.Contains("use a smaller batch"));
}
