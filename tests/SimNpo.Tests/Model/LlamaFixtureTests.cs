using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Model.SafeTensors;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Methods;
using SimNpo.Unlearn.Objectives;

namespace SimNpo.Tests.Model;

/// <summary>
/// The CPU reference against the PyTorch fixture (tools/fixtures/make_llama_fixture.py, float64 on the same float32
/// weights): logits, per-sequence log-probs, the three losses, every parameter gradient, and five AdamW steps.
/// </summary>
public class LlamaFixtureTests
{
    internal static string FixtureDirectory(string configuration) =>
        Path.Combine(AppContext.BaseDirectory, "Fixtures", "llama", configuration);

    /// <summary>A fixture directory in this format (the family fixtures share it): the model, its batch, what PyTorch computed.</summary>
    private sealed class Fixture : IDisposable
    {
        public Fixture(string directory)
        {
            Directory = directory;
            Expected = SafeTensorsFile.Open(Path.Combine(Directory, "expected.safetensors"));
            var config = ModelFiles.LoadConfig(Directory);
            Examples = ExampleFiles.Load(Path.Combine(Directory, "batch.jsonl"), Directory, config);
            Batch = TokenBatch.FromExamples(Examples);
        }

        public string Directory { get; }
        public SafeTensorsFile Expected { get; }
        public IReadOnlyList<TokenizedExample> Examples { get; }
        public TokenBatch Batch { get; }

        /// <summary>A tensor as float64, whether stored as F64 or (the IdkPO and KL gradients, to keep the fixture small) F32.</summary>
        public double[] Get(string name) => Expected.Tensors[name].DType == SafeTensorsDType.F32
            ? Expected.ReadFloat32(name).Select(x => (double)x).ToArray()
            : Expected.ReadFloat64(name);

        /// <summary>The fixture's objective: NPO with β 0.1 against its ref_seq_logprob, the others with β 2.5, γ 0.5.</summary>
        public ISequenceObjective Objective(string name) =>
            TrainingMethods.Get(name).Objective(name == "npo" ? 0.1 : 2.5, 0.5, name == "npo" ? Get("ref_seq_logprob") : null);

        public void Dispose() => Expected.Dispose();
    }

    private static IEnumerable<TestCaseData> Cases() =>
        from configuration in new[] { "untied", "tied" }
        from objective in new[] { "nll", "simnpo", "npo" }
        select new TestCaseData(configuration, objective);

    [TestCase("untied")]
    [TestCase("tied")]
    public void BatchAndRopeMatchTheFixture(string configuration)
    {
        using var fixture = new Fixture(FixtureDirectory(configuration));
        Assert.That(fixture.Batch.Tokens, Is.EqualTo(fixture.Expected.ReadInt64("tokens").Select(x => (int)x)));
        Assert.That(fixture.Batch.Targets, Is.EqualTo(fixture.Expected.ReadInt64("targets").Select(x => (int)x)));
        Assert.That(fixture.Batch.Lengths, Is.EqualTo(fixture.Expected.ReadInt64("lengths").Select(x => (int)x)));
        // Both sides compute the frequencies in float64 by the same formula: only the last bits may differ.
        Assert.That(RopeFrequencies.Compute(ModelFiles.LoadConfig(fixture.Directory)), Is.EqualTo(fixture.Get("inv_freq")).Within(1e-15));
    }

    /// <summary>
    /// float64 on both sides with different summation orders: agreement to ~1e-12 relative. In float32 the forward
    /// carries ~1e-7 relative rounding per op through a few dozen ops, so 2e-5 of the largest magnitude is generous
    /// enough for rounding and far below any error of substance (a wrong mask or rotation changes values by O(1)).
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void Float64MatchesPyTorch(string configuration, string objective) => Compare(configuration, objective, 1e-10, new ReferenceOps<double>());

    [TestCaseSource(nameof(Cases))]
    public void Float32MatchesPyTorch(string configuration, string objective) => Compare(configuration, objective, 2e-5, new ReferenceOps<float>());

    /// <summary>The fast CPU path is float32 throughout (its matmuls sum the weight gradient in float32 too): the same 2e-5.</summary>
    [TestCaseSource(nameof(Cases))]
    public void FastCpuMatchesPyTorch(string configuration, string objective) => Compare(configuration, objective, 2e-5, new FastCpuOps());

    /// <summary>
    /// bf16 storage of weights, activations and gradients (float32 arithmetic) against the same float64 fixture. Each
    /// stored tensor is its float32 value rounded, off by at most u = 2⁻⁸ of itself, and a relative error passes through
    /// a matmul, norm, rotation, attention or residual add at most as large as it came (the scaled error is relative to the
    /// tensor's largest value). Counted along the longest path of this 2-layer model, a forward result meets 36 bf16
    /// roundings: the embedding table; per layer the two norm weights, the four weight matrices on the path and ten stored
    /// activations (norm, projection, rotation, attention, output projection, residual, norm, gate/up, SwiGLU, down +
    /// residual); the final norm, its weight and the head. The backward adds as many again on its way back: forward
    /// results (logits, log-probs, losses) within 36u = 0.14, gradients within 72u = 0.28. Both far below the O(1)
    /// errors of substance (a wrong mask, rotation or index), and they hold on every backend that stores bf16.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void FastCpuBf16MatchesPyTorch(string configuration, string objective) =>
        Compare(configuration, objective, 36 * BFloat16.UnitRoundoff, new FastCpuOps(), Precision.Bf16, 72 * BFloat16.UnitRoundoff);

    internal static void Compare<T>(string configuration, string objectiveName, double tolerance, IOps<T> ops, Precision? precision = null,
        double? gradientTolerance = null) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        CompareWithFixture(FixtureDirectory(configuration), objectiveName, tolerance, ops, precision, gradientTolerance);

    /// <summary>
    /// Loads the fixture directory's model on the ops and compares the scored rows' logits, the per-sequence log-probs and
    /// lengths, the objective's loss and every parameter's gradient with what PyTorch computed, each within the tolerance
    /// scaled by the tensor's largest magnitude (gradients within gradientTolerance when given).
    /// </summary>
    internal static void CompareWithFixture<T>(string directory, string objectiveName, double tolerance, IOps<T> ops, Precision? precision = null,
        double? gradientTolerance = null) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        using var fixture = new Fixture(directory);
        using var model = ModelFiles.Load(fixture.Directory, ops, precision);
        AssertClose(model.ForwardLogits(fixture.Batch).ToArray().Select(double.CreateTruncating).ToArray(), ScoredRows(fixture), tolerance, "logits");
        var pass = model.Forward(fixture.Batch);
        var scores = pass.Scores;
        AssertClose(scores.LogProb, fixture.Get("seq_logprob"), tolerance, "seq_logprob");
        Assert.That(scores.Length.Select(x => (double)x), Is.EqualTo(fixture.Get("seq_len")));

        var objective = fixture.Objective(objectiveName);
        var value = objective.Evaluate(scores);
        AssertClose([value.Loss], fixture.Get("loss_" + objectiveName), tolerance, "loss");
        model.ZeroGradients();
        pass.Backward(value.SequenceWeights);
        var gradients = model.Gradients.ToArray();
        foreach (var entry in model.Layout.Entries)
            AssertClose(gradients.AsSpan((int)entry.Start, entry.Length).ToArray().Select(double.CreateTruncating).ToArray(),
                fixture.Get($"grad_{objectiveName}.{entry.Name}"), gradientTolerance ?? tolerance, entry.Name);
    }

    /// <summary>
    /// IdkPO over the combined batch (3 refusals, then the 3 true answers) and the KL retain term against ref/. The
    /// gradients are stored as float32, so in float64 they match to float32 rounding: 1e-7 of each tensor's largest value.
    /// </summary>
    [TestCase("untied", "double")]
    [TestCase("tied", "double")]
    [TestCase("untied", "float")]
    public void IdkPoAndKlMatchPyTorch(string configuration, string precision)
    {
        if (precision == "double") IdkPoAndKl<double>(configuration, 1e-7);
        else IdkPoAndKl<float>(configuration, 2e-5);
    }

    private static void IdkPoAndKl<T>(string configuration, double tolerance) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        using var fixture = new Fixture(FixtureDirectory(configuration));
        using var model = ModelFiles.Load(fixture.Directory, new ReferenceOps<T>());
        using var reference = ModelFiles.Load(Path.Combine(fixture.Directory, "ref"), new ReferenceOps<T>());
        double[] Gradients() => model.Gradients.ToArray().Select(double.CreateTruncating).ToArray();
        void CompareGradients(string prefix)
        {
            var gradients = Gradients();
            foreach (var entry in model.Layout.Entries)
                AssertClose(gradients[(int)entry.Start..((int)entry.Start + entry.Length)], fixture.Get($"{prefix}.{entry.Name}"), tolerance,
                    $"{prefix}.{entry.Name}");
        }

        var config = ModelFiles.LoadConfig(fixture.Directory);
        var idkBatch = TokenBatch.FromExamples(ExampleFiles.Load(Path.Combine(fixture.Directory, "idkpo_batch.jsonl"), fixture.Directory, config));
        var referenceScores = reference.Forward(idkBatch).Scores.LogProb;
        AssertClose(referenceScores, fixture.Get("idkpo_ref_seq_logprob"), tolerance, "idkpo_ref_seq_logprob");
        var idkPass = model.Forward(idkBatch);
        AssertClose(idkPass.Scores.LogProb, fixture.Get("idkpo_seq_logprob"), tolerance, "idkpo_seq_logprob");
        var idk = new IdkPoObjective(0.1, referenceScores).Evaluate(idkPass.Scores);
        AssertClose([idk.Loss], fixture.Get("loss_idkpo"), tolerance, "loss_idkpo");
        model.ZeroGradients();
        idkPass.Backward(idk.SequenceWeights);
        CompareGradients("grad_idkpo");

        var kl = model.ForwardKl(fixture.Batch, reference.ForwardLogProbs(fixture.Batch));
        AssertClose([kl.Value], fixture.Get("loss_kl"), tolerance, "loss_kl");
        model.ZeroGradients();
        kl.Backward(1);
        CompareGradients("grad_kl");
    }

    /// <summary>The fixture's logits at the scored positions, in row order: the rows the model computes logits for.</summary>
    private static double[] ScoredRows(Fixture fixture)
    {
        var logits = fixture.Get("logits");
        var vocab = logits.Length / fixture.Batch.Rows;
        return Enumerable.Range(0, fixture.Batch.Rows).Where(r => fixture.Batch.Targets[r] >= 0)
            .SelectMany(r => logits.Skip(r * vocab).Take(vocab)).ToArray();
    }

    /// <summary>
    /// Five AdamW steps on the SimNPO loss (lr 1e-2, β (0.9, 0.999), eps 1e-8, decay 0.01): the loss before each step
    /// and every parameter after. float64, so differences are summation order only, compounded over five steps.
    /// </summary>
    [TestCase("untied")]
    [TestCase("tied")]
    public void FiveAdamWStepsMatchPyTorch(string configuration)
    {
        using var fixture = new Fixture(FixtureDirectory(configuration));
        IOps<double> ops = new ReferenceOps<double>();
        using var model = ModelFiles.Load(fixture.Directory, ops);
        var objective = fixture.Objective("simnpo");
        using var moments = ops.Allocate(2 * (int)model.Layout.TotalLength);
        var (first, second) = (moments.All.Slice(0, (int)model.Layout.TotalLength),
            moments.All.Slice((int)model.Layout.TotalLength, (int)model.Layout.TotalLength));
        var losses = new double[5];
        for (var step = 1; step <= 5; step++)
        {
            var pass = model.Forward(fixture.Batch);
            var value = objective.Evaluate(pass.Scores);
            losses[step - 1] = value.Loss;
            model.ZeroGradients();
            pass.Backward(value.SequenceWeights);
            ops.AdamW(model.Parameters.Chunks.Single().All, model.Gradients.Chunks.Single().All, first, second,
                new AdamWStep(1e-2, 0.9, 0.999, 1e-8, 0.01, step));
        }
        AssertClose(losses, fixture.Get("adamw_losses"), 1e-9, "adamw_losses");
        var parameters = model.Parameters.ToArray();
        foreach (var entry in model.Layout.Entries)
            AssertClose(parameters.AsSpan((int)entry.Start, entry.Length).ToArray(), fixture.Get("after_adamw." + entry.Name), 1e-9, entry.Name);
    }

    /// <summary>Scaled error: max |a − e| / max |e| over the tensor, so small gradients are held to their own scale.</summary>
    internal static void AssertClose(double[] actual, double[] expected, double tolerance, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        var scale = Math.Max(1e-30, expected.Max(Math.Abs));
        var worst = actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max() / scale;
        Assert.That(worst, Is.LessThan(tolerance), $"{what}: scaled error {worst:E2} (scale {scale:E2})");
    }
}
