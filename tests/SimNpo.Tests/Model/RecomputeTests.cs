using System.Numerics;
using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Methods;
using SimNpo.Unlearn.Objectives;

namespace SimNpo.Tests.Model;

/// <summary>
/// Recomputing each layer's forward in the backward runs the same ops on the same inputs as keeping the activations,
/// so on the CPU paths every gradient is bitwise the same: no tolerance. Whole-model forward and backward on the
/// PyTorch fixture's models and batches, through both heads (log-prob at the labels, KL to the reference).
/// </summary>
public class RecomputeTests
{
    private static string Fixture(string configuration) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "llama", configuration);

    /// <summary>The Llama fixtures and each family's (its LayerNorms, biases, parallel block, scaled embeddings, GELU MLPs).</summary>
    private static IEnumerable<TestCaseData> Cases() =>
        from configuration in new[] { "untied", "tied" }.Concat(FamilyFixtureTests.Families)
        from backend in new[] { "reference-float64", "reference-float32", "fast-cpu", "fast-cpu-bf16" }
        select new TestCaseData(configuration, backend);

    [TestCaseSource(nameof(Cases))]
    public void RecomputedGradientsAreBitwiseTheKeptOnes(string configuration, string backend)
    {
        switch (backend)
        {
            case "reference-float64": Compare(configuration, new ReferenceOps<double>()); break;
            case "reference-float32": Compare(configuration, new ReferenceOps<float>()); break;
            case "fast-cpu-bf16": Compare(configuration, new FastCpuOps(), Precision.Bf16); break;
            default: Compare(configuration, new FastCpuOps()); break;
        }
    }

    /// <summary>The Llama fixtures bring their NPO reference model (ref/); for a family's, the KL head's reference is a random model of its config.</summary>
    private static void Compare<T>(string configuration, IOps<T> ops, Precision? precision = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var isFamily = FamilyFixtureTests.Families.Contains(configuration);
        var directory = isFamily ? FamilyFixtureTests.Directory(configuration) : Fixture(configuration);
        using var model = ModelFiles.Load(directory, ops, precision);
        using var reference = isFamily ? new LlamaModel<T>(model.Config, ops, precision) : ModelFiles.Load(Path.Combine(directory, "ref"), ops, precision);
        if (isFamily) ModelInitializer.Randomize(reference, seed: 5, std: 0.3, normStd: 0.1, biasStd: 0.1);
        var batch = TokenBatch.FromExamples(ExampleFiles.Load(Path.Combine(directory, "batch.jsonl"), directory, model.Config));
        var objective = TrainingMethods.Get("simnpo").Objective(2.5, 0.5, null);

        (double[] LogProbs, T[] Gradients, double Kl, T[] KlGradients) Run(Recompute recompute)
        {
            model.Recompute = recompute;
            var pass = model.Forward(batch);
            model.ZeroGradients();
            pass.Backward(objective.Evaluate(pass.Scores).SequenceWeights);
            var gradients = model.Gradients.ToArray();
            var kl = model.ForwardKl(batch, reference.ForwardLogProbs(batch));
            model.ZeroGradients();
            kl.Backward(0.7);
            return (pass.Scores.LogProb, gradients, kl.Value, model.Gradients.ToArray());
        }

        var kept = Run(Recompute.None);
        var recomputed = Run(Recompute.Layers);
        Assert.That(recomputed.LogProbs, Is.EqualTo(kept.LogProbs), "log-probs");
        Assert.That(recomputed.Kl, Is.EqualTo(kept.Kl), "KL");
        Assert.That(kept.Gradients.Count(g => g != T.Zero), Is.GreaterThan(kept.Gradients.Length / 2), "a real gradient to compare");
        foreach (var entry in model.Layout.Entries)
        {
            Assert.That(Bits(recomputed.Gradients, entry), Is.EqualTo(Bits(kept.Gradients, entry)), $"chunked output loss: {entry.Name}");
            Assert.That(Bits(recomputed.KlGradients, entry), Is.EqualTo(Bits(kept.KlGradients, entry)), $"KL head: {entry.Name}");
        }
    }

    /// <summary>Bit patterns, so that −0 against +0 or two NaNs would count as a difference and as an equality as they should.</summary>
    private static long[] Bits<T>(T[] values, ParameterEntry entry) where T : unmanaged, IFloatingPointIeee754<T> =>
        values.AsSpan((int)entry.Start, entry.Length).ToArray().Select(v => typeof(T) == typeof(double)
            ? BitConverter.DoubleToInt64Bits(double.CreateTruncating(v))
            : BitConverter.SingleToInt32Bits(float.CreateTruncating(v))).ToArray();

    /// <summary>The setting takes effect at the next forward: a backward always matches the forward it follows.</summary>
    [Test]
    public void ChangingTheSettingBetweenForwardAndBackwardChangesNothing()
    {
        var directory = Fixture("untied");
        using var model = ModelFiles.Load(directory, new ReferenceOps<double>());
        var batch = TokenBatch.FromExamples(ExampleFiles.Load(Path.Combine(directory, "batch.jsonl"), directory, model.Config));
        var weights = new[] { -0.25, 0.5, 1.0 }.Take(batch.Batch).ToArray();
        var pass = model.Forward(batch);
        model.ZeroGradients();
        pass.Backward(weights);
        var kept = model.Gradients.ToArray();
        pass = model.Forward(batch);
        model.Recompute = Recompute.Layers;
        model.ZeroGradients();
        pass.Backward(weights);
        Assert.That(model.Gradients.ToArray(), Is.EqualTo(kept));
    }

    /// <summary>
    /// Activations beyond one buffer are refused by name before anything is allocated, pointing at recomputation: 26 narrow
    /// layers (80 bulk values per row each) over 1024 × 1024 rows need 2.52 G bulk values kept, 0.42 G recomputed.
    /// </summary>
    [Test]
    public void AStepWhoseActivationsPassOneBufferIsRefusedNamingRecomputation()
    {
        var config = new LlamaConfig
        {
            HiddenSize = 8, IntermediateSize = 8, NumHiddenLayers = 26, NumAttentionHeads = 1, NumKeyValueHeads = 1, HeadDim = 8, VocabSize = 4,
            MaxPositionEmbeddings = 1024,
        };
        using var model = new LlamaModel<float>(config, new ReferenceOps<float>());
        var sequence = new TokenizedExample([1], [.. Enumerable.Repeat(2, 1023)]);
        var batch = TokenBatch.FromExamples(Enumerable.Repeat(sequence, 1024).ToArray());
        Assert.That(() => model.Forward(batch),
            Throws.TypeOf<NotSupportedException>().With.Message.Contains("batch 1024 x 1024 needs 2,516,566,016 activation elements")
            .And.Message.Contains("recompute the layers"));
        var layers = Activations<float>.Count(config, new ActivationShape(1024, 1024, 1024 * 1023, FullLogits: false, Recompute.Layers));
        Assert.That(layers.BulkElements, Is.LessThan(Array.MaxLength), "with the layers recomputed the same step fits");
    }
}
