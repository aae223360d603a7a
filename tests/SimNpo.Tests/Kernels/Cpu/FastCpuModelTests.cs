using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Tests.Kernels.Ilgpu;
using SimNpo.Tests.Model;

namespace SimNpo.Tests.Kernels.Cpu;

/// <summary>
/// The whole Llama graph on <see cref="FastCpuOps"/>: against the float64 reference on a random model with grouped
/// queries, several attention tiles and right padding; bit for bit from one run to the next; without allocating inside a
/// training step; and through `simnpo grad --device cpu` against `--device reference` on the PyTorch fixture model.
/// </summary>
public class FastCpuModelTests
{
    /// <summary>6 heads over 2 kv heads of 16, sequences of 60 (two 48-row attention tiles), a vocabulary of 300.</summary>
    private static readonly LlamaConfig Config = new()
    {
        HiddenSize = 96, IntermediateSize = 160, NumHiddenLayers = 2, NumAttentionHeads = 6, NumKeyValueHeads = 2, HeadDim = 16, VocabSize = 300,
        NormEps = 1e-5,
    };

    /// <summary>Per-sequence loss weights: Backward adds the gradient of Σ weight·log-prob.</summary>
    private static readonly double[] SequenceWeights = [-0.5, 1, 0.25];

    /// <summary>Three sequences of 60, 45 and 23 tokens, the first five of each a prompt (not scored).</summary>
    private static TokenBatch Batch(LlamaConfig config, int seed, params int[] lengths)
    {
        var random = new Random(seed);
        return TokenBatch.FromExamples(lengths
            .Select(length => new TokenizedExample([.. Enumerable.Range(0, 5).Select(_ => random.Next(config.VocabSize))],
                [.. Enumerable.Range(0, length - 5).Select(_ => random.Next(config.VocabSize))]))
            .ToArray());
    }

    /// <summary>
    /// Log-probs and every gradient of Σ weight·log-prob within 2e-5 of the float64 reference on the same float32 weights,
    /// scaled by each tensor's largest value: the bound <see cref="LlamaFixtureTests"/> holds float32 runs to against
    /// PyTorch's float64 (about 1e-7 relative rounding per op through a few dozen ops; observed here: 1.6e-6, the float32 reference
    /// 1e-6). A wrong mask,
    /// head mapping or rotation is off by 1e-2 or more.
    /// </summary>
    [Test]
    public void LogProbsAndEveryGradientMatchTheFloat64Reference()
    {
        var batch = Batch(Config, seed: 1, 60, 45, 23);
        using var fast = new LlamaModel<float>(Config, new FastCpuOps());
        ModelInitializer.Randomize(fast, seed: 2, std: 0.1, normStd: 0.2);
        using var exact = new LlamaModel<double>(Config, new ReferenceOps<double>());
        exact.Parameters.CopyFrom(fast.Parameters.ToArray().Select(x => (double)x).ToArray());

        var fastPass = fast.Forward(batch);
        var exactPass = exact.Forward(batch);
        LlamaFixtureTests.AssertClose(fastPass.Scores.LogProb, exactPass.Scores.LogProb, 2e-5, "log-probs");
        fast.ZeroGradients();
        fastPass.Backward(SequenceWeights);
        exact.ZeroGradients();
        exactPass.Backward(SequenceWeights);
        var (fastGradients, exactGradients) = (fast.Gradients.ToArray(), exact.Gradients.ToArray());
        foreach (var entry in fast.Layout.Entries)
            LlamaFixtureTests.AssertClose(fastGradients.AsSpan((int)entry.Start, entry.Length).ToArray().Select(x => (double)x).ToArray(),
                exactGradients.AsSpan((int)entry.Start, entry.Length).ToArray(), 2e-5, entry.Name);
    }

    /// <summary>Two models from the same weights take the same three AdamW steps to the same bits: no sum depends on the schedule.</summary>
    [Test]
    public void TrainingStepsRepeatBitForBit()
    {
        var batch = Batch(Config, seed: 3, 60, 45, 23);
        float[] Train()
        {
            using var trainer = new StepRunner(Config);
            for (var step = 1; step <= 3; step++) trainer.Step(batch, step);
            return trainer.Model.Parameters.ToArray();
        }
        Assert.That(Train(), Is.EqualTo(Train()));
    }

    /// <summary>
    /// A training step (forward, backward, AdamW) allocates no scratch: every buffer an op needs is kept from the first
    /// step. What remains is the parallel loops' bookkeeping (Parallel.For's tasks and the loop bodies' closures, about
    /// 1.7 KB a loop on two cores, a little more with more cores) and the model's few bytes per sequence. A step of two
    /// layers runs about 110 loops (44 per layer, 6 per vocabulary chunk, 14 more); the bound allows 160 at 2 KB + 128 B
    /// per core each, and holds unchanged for a model twice as wide with four times the tokens and a vocabulary 16 times
    /// larger (two chunks), whose layers' activations take 5 MB each: one scratch buffer the size of an activation per op,
    /// or an attention tile per head and call, would exceed it. The least of six steps counts: a pool thread that first
    /// joins a loop in a later step allocates its own scratch then, once (a busy machine makes the pool add threads, so
    /// a few steps can carry one).
    /// </summary>
    [Test]
    public void ATrainingStepAllocatesNoScratch()
    {
        var bound = 160 * (2048 + 128 * Environment.ProcessorCount);
        long StepBytes(LlamaConfig config, TokenBatch batch)
        {
            using var runner = new StepRunner(config);
            runner.Step(batch, 1);
            runner.Step(batch, 2);
            var least = long.MaxValue;
            for (var step = 3; step <= 8; step++)
            {
                var before = GC.GetTotalAllocatedBytes(precise: true);
                runner.Step(batch, step);
                least = Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - before);
            }
            return least;
        }
        var large = Config with { HiddenSize = 192, IntermediateSize = 320, HeadDim = 32, VocabSize = 5000 };
        Assert.That(StepBytes(Config, Batch(Config, seed: 4, 60, 45, 23)), Is.LessThan(bound));
        Assert.That(StepBytes(large, Batch(large, seed: 5, 120, 100, 90, 64, 30, 120)), Is.LessThan(bound));
    }

    /// <summary>`simnpo grad --device cpu` writes the gradients `--device reference` writes, to float32 rounding (within 4e-5, scaled).</summary>
    [Test]
    public void GradCommandOnCpuMatchesTheReference() => IlgpuModelTests.AssertGradMatchesTheReference("cpu", $"(cpu ({FastMatMul.InstructionSet}, ");

    /// <summary>A model on FastCpuOps with AdamW moments: one forward, backward and optimizer step at a time.</summary>
    private sealed class StepRunner : IDisposable
    {
        private readonly IOps<float> _ops = new FastCpuOps();
        private readonly DeviceBuffer<float> _moments;
        private double[]? _weights;

        public StepRunner(LlamaConfig config)
        {
            Model = new LlamaModel<float>(config, _ops);
            ModelInitializer.Randomize(Model, seed: 6, std: 0.3, normStd: 0.2);
            _moments = _ops.Allocate(2 * (int)Model.Layout.TotalLength);
        }

        public LlamaModel<float> Model { get; }

        public void Step(TokenBatch batch, int step)
        {
            var length = (int)Model.Layout.TotalLength;
            var pass = Model.Forward(batch);
            Model.ZeroGradients();
            pass.Backward(_weights ??= [.. Enumerable.Range(0, batch.Batch).Select(i => SequenceWeights[i % SequenceWeights.Length])]);
            _ops.AdamW(Model.Parameters.Chunks.Single().All, Model.Gradients.Chunks.Single().All, _moments.All.Slice(0, length),
                _moments.All.Slice(length, length),
                new AdamWStep(1e-3, 0.9, 0.999, 1e-8, 0.01, step));
        }

        public void Dispose()
        {
            Model.Dispose();
            _moments.Dispose();
        }
    }
}
