using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Training;

public class AdamWOptimizerTests
{
    /// <summary>
    /// The fixture's AdamW run: torch.optim.AdamW defaults in one parameter group (so the norms' weights decay too),
    /// lr 1e-2, weight decay 0.01, no clipping.
    /// </summary>
    private static readonly AdamWSettings FixtureSettings = new(MaxGradNorm: 0, DecayNormWeights: true);
    private const double FixtureLearningRate = 0.01;

    /// <summary>
    /// Five SimNPO steps in float64 against torch in float64 on the same float32 weights: only the order of summation
    /// differs, so gradients agree to ~1e-15 absolute. AdamW's update g/(|g| + eps) amplifies an absolute gradient
    /// difference by at most lr/eps = 1e6 (where |g| ≪ eps), so five steps move a parameter by at most ~5e-9 more;
    /// elsewhere the update is relative (~1e-13). 1e-8 on parameters (of order 1) bounds that; the losses (≤ 0.32)
    /// follow the parameters, so 1e-9 is ample for them. Measured in torch on this fixture: eps added before the bias
    /// correction moves parameters by 3e-3, L2 instead of decoupled decay by 0.09 (untied). Measured here: parameters
    /// within 3e-11, losses within 6e-14.
    /// </summary>
    [TestCase("untied")]
    [TestCase("tied")]
    public void FiveStepsReproduceTorchAdamW(string configuration)
    {
        using var model = LlamaFixture.Load<double>(configuration);
        var batch = LlamaFixture.Batch(configuration, model.Config.VocabSize);
        using var optimizer = new AdamWOptimizer<double>(model, FixtureSettings);
        using var expected = SafeTensorsFile.Open(Path.Combine(LlamaFixture.Directory(configuration), "expected.safetensors"));
        var losses = expected.ReadFloat64("adamw_losses");

        for (var step = 0; step < losses.Length; step++)
            Assert.That(LlamaFixture.TrainStep(model, optimizer, batch, FixtureLearningRate), Is.EqualTo(losses[step]).Within(1e-9),
                $"loss before step {step + 1}");

        Assert.That(optimizer.StepCount, Is.EqualTo(5));
        foreach (var entry in model.Layout.Entries)
        {
            var want = expected.ReadFloat64("after_adamw." + entry.Name);
            var got = model.Weight(entry).ToArray();
            for (var i = 0; i < want.Length; i++)
                Assert.That(got[i], Is.EqualTo(want[i]).Within(1e-8), $"{entry.Name}[{i}]");
        }
    }

    /// <summary>
    /// A gradient of known norm (≈ 21) set directly: clipping to maxNorm scales it by maxNorm/(norm + 1e-6). The offset
    /// changes the norm by 1e-6/norm ≈ 5e-8 of it, and the float32 factor and products round by 2^-24 ≈ 6e-8 each, so
    /// the clipped norm equals maxNorm within 1e-6 relative and each element its scaled value within 3e-7 relative.
    /// The returned norm sums the same float32 squares in float64 as the test does, in another order (1e-11 is ample).
    /// </summary>
    [TestCase(1.0)]
    [TestCase(0.25)]
    public void ClippingScalesTheGradientToTheMaximumNorm(double maxNorm)
    {
        using var model = LlamaFixture.Load<float>("tied");
        var gradient = KnownGradient((int)model.Layout.TotalLength, out var norm);
        using var optimizer = new AdamWOptimizer<float>(model, new AdamWSettings(MaxGradNorm: maxNorm));
        model.Gradients.CopyFrom(gradient);

        Assert.That(optimizer.Step(learningRate: 0), Is.EqualTo(norm).Within(1e-9).Percent);
        var clipped = model.Gradients.ToArray();
        var clippedNorm = Math.Sqrt(clipped.Sum(g => (double)g * g));
        Assert.That(clippedNorm, Is.EqualTo(maxNorm).Within(1e-4).Percent);
        // Every element by the same factor: the direction is kept.
        var factor = maxNorm / (norm + 1e-6);
        for (var i = 0; i < gradient.Length; i++)
            Assert.That(clipped[i], Is.EqualTo(gradient[i] * factor).Within(3e-5).Percent, $"element {i}");
    }

    [TestCase(50.0)]
    [TestCase(0.0)]
    public void NoClippingBelowTheMaximumOrWhenOff(double maxNorm)
    {
        using var model = LlamaFixture.Load<float>("tied");
        var gradient = KnownGradient((int)model.Layout.TotalLength, out var norm);
        Assert.That(norm, Is.LessThan(50.0).And.GreaterThan(1.0));
        using var optimizer = new AdamWOptimizer<float>(model, new AdamWSettings(MaxGradNorm: maxNorm));
        model.Gradients.CopyFrom(gradient);

        Assert.That(optimizer.Step(learningRate: 0), Is.EqualTo(norm).Within(1e-9).Percent);
        Assert.That(model.Gradients.ToArray(), Is.EqualTo(gradient));
    }

    /// <summary>
    /// One step by hand, as Hugging Face Trainer groups the parameters (get_decay_parameter_names: no decay for the
    /// RMSNorm weights). torch.optim.AdamW's first step is p ← p·(1 − lr·wd) − lr·g/(|g| + eps) (the bias corrections
    /// cancel: m̂ = g, √v̂ = |g|), and the norms' weights lose the (1 − lr·wd) factor. float64 on the reference path:
    /// a handful of roundings of numbers of order 1, so 1e-14 absolute.
    /// </summary>
    [Test]
    public void NormWeightsGetNoWeightDecay()
    {
        using var model = LlamaFixture.Load<double>("untied");
        var gradient = KnownGradient((int)model.Layout.TotalLength, out _).Select(g => (double)g).ToArray();
        var before = model.Parameters.ToArray();
        const double lr = 0.1, decay = 0.5, eps = 1e-8;
        using var optimizer = new AdamWOptimizer<double>(model, new AdamWSettings(WeightDecay: decay, MaxGradNorm: 0));
        model.Gradients.CopyFrom(gradient);
        optimizer.Step(lr);

        var after = model.Parameters.ToArray();
        var normEntries = 0;
        foreach (var entry in model.Layout.Entries)
        {
            var norm = entry.Name.EndsWith("norm.weight", StringComparison.Ordinal);
            normEntries += norm ? 1 : 0;
            var keep = norm ? 1 : 1 - lr * decay;
            for (var i = (int)entry.Start; i < entry.Start + entry.Length; i++)
                Assert.That(after[i], Is.EqualTo(before[i] * keep - lr * gradient[i] / (Math.Abs(gradient[i]) + eps)).Within(1e-14),
                    $"{entry.Name}[{i - entry.Start}]");
        }
        Assert.That(normEntries, Is.EqualTo(2 * model.Config.NumHiddenLayers + 1), "both norms of every layer and the final norm");
    }

    [Test]
    public void NonFiniteGradientIsRefusedBeforeAnythingChanges()
    {
        using var model = LlamaFixture.Load<float>("tied");
        var parameters = model.Parameters.ToArray();
        using var optimizer = new AdamWOptimizer<float>(model, new AdamWSettings());
        var gradient = KnownGradient((int)model.Layout.TotalLength, out _);
        gradient[7] = float.NaN;
        model.Gradients.CopyFrom(gradient);

        Assert.Throws<InvalidOperationException>(() => optimizer.Step(0.01));
        Assert.That(model.Parameters.ToArray(), Is.EqualTo(parameters));
        Assert.That(optimizer.StepCount, Is.EqualTo(0));
    }

    /// <summary>
    /// Two steps, a checkpoint of parameters and optimizer, a fresh model and optimizer from it, three more steps: the
    /// same float32 parameters as five steps in one go, bit for bit (float32 round-trips through the files exactly and
    /// the reference ops are deterministic). Clipping on and a warmup schedule, so the step count matters.
    /// </summary>
    [Test]
    public void ResumingFromSavedStateMatchesAnUninterruptedRun()
    {
        var schedule = new LearningRateSchedule(LearningRateScheduleKind.Linear, 0.01, totalSteps: 5, warmupSteps: 1);
        var settings = new AdamWSettings(MaxGradNorm: 0.5);

        using var straight = LlamaFixture.Load<float>("untied");
        var batch = LlamaFixture.Batch("untied", straight.Config.VocabSize);
        using var straightOptimizer = new AdamWOptimizer<float>(straight, settings);
        var straightLosses = Enumerable.Range(0, 5).Select(step => LlamaFixture.TrainStep(straight, straightOptimizer, batch, schedule.At(step))).ToArray();

        using var scratch = new TempDirectory();
        var losses = new List<double>();
        using (var first = LlamaFixture.Load<float>("untied"))
        using (var firstOptimizer = new AdamWOptimizer<float>(first, settings))
        {
            for (var step = 0; step < 2; step++) losses.Add(LlamaFixture.TrainStep(first, firstOptimizer, batch, schedule.At(step)));
            ModelFiles.Save(first, scratch.Path);
            firstOptimizer.Save(scratch.File(AdamWOptimizer<float>.FileName));
        }
        using var resumed = ModelFiles.Load(scratch.Path, new ReferenceOps<float>());
        using var resumedOptimizer = new AdamWOptimizer<float>(resumed, settings);
        resumedOptimizer.Load(scratch.File(AdamWOptimizer<float>.FileName));
        Assert.That(resumedOptimizer.StepCount, Is.EqualTo(2));
        for (var step = 2; step < 5; step++) losses.Add(LlamaFixture.TrainStep(resumed, resumedOptimizer, batch, schedule.At(step)));

        Assert.That(losses, Is.EqualTo(straightLosses));
        Assert.That(resumed.Parameters.ToArray(), Is.EqualTo(straight.Parameters.ToArray()));
        Assert.That(resumedOptimizer.FirstMoment.ToArray(), Is.EqualTo(straightOptimizer.FirstMoment.ToArray()));
        Assert.That(resumedOptimizer.SecondMoment.ToArray(), Is.EqualTo(straightOptimizer.SecondMoment.ToArray()));
    }

    [Test]
    public void SavedStateHoldsMomentsStepAndSettings()
    {
        using var model = LlamaFixture.Load<double>("tied");
        var batch = LlamaFixture.Batch("tied", model.Config.VocabSize);
        using var optimizer = new AdamWOptimizer<double>(model, new AdamWSettings(WeightDecay: 0.1, MaxGradNorm: 0.3));
        LlamaFixture.TrainStep(model, optimizer, batch, 0.01);
        using var scratch = new TempDirectory();
        var path = scratch.File(AdamWOptimizer<double>.FileName);
        optimizer.Save(path);

        using var file = SafeTensorsFile.Open(path);
        foreach (var entry in model.Layout.Entries)
        {
            Assert.That(file.Tensors["exp_avg." + entry.Name].DType, Is.EqualTo(SafeTensorsDType.F64));
            Assert.That(file.Tensors["exp_avg." + entry.Name].Shape, Is.EqualTo(entry.Shape.Select(d => (long)d)));
            Assert.That(file.ReadFloat64("exp_avg." + entry.Name), Is.EqualTo(optimizer.FirstMoment[entry].ToArray()));
            Assert.That(file.ReadFloat64("exp_avg_sq." + entry.Name), Is.EqualTo(optimizer.SecondMoment[entry].ToArray()));
        }
        Assert.That(file.Tensors.Keys, Has.None.StartsWith("master."), "a float64 model keeps no master weights");
        Assert.That(file.Metadata["step"], Is.EqualTo("1"));
        Assert.That(file.Metadata["weight_decay"], Is.EqualTo("0.1"));
        Assert.That(file.Metadata["max_grad_norm"], Is.EqualTo("0.3"));
        Assert.That(file.Metadata["beta2"], Is.EqualTo("0.999"));
    }

    private static IEnumerable<TestCaseData> BadFiles()
    {
        using var model = LlamaFixture.Load<float>("tied");
        var entries = model.Layout.Entries;
        // A whole state of the tied fixture, per tensor; first/second set the value of the first tensor's moments.
        TensorToWrite[] State(float first = 0, float second = 0, int shrink = 0, string? skip = null) =>
        [
            .. entries.SelectMany(entry => new[] { ("exp_avg." + entry.Name, first), ("exp_avg_sq." + entry.Name, second) }
                .Where(tensor => tensor.Item1 != skip)
                .Select(tensor =>
                {
                    var length = entry.Length - (entry == entries[0] ? shrink : 0);
                    var value = entry == entries[0] ? tensor.Item2 : 0;
                    long[] shape = shrink > 0 && entry == entries[0] ? [length] : [.. entry.Shape.Select(d => (long)d)];
                    return new TensorToWrite(tensor.Item1, shape, Enumerable.Repeat(value, length).ToArray());
                })),
        ];
        var step = new Dictionary<string, string> { ["step"] = "3" };
        var embedding = entries[0].Name;
        yield return new TestCaseData(State(skip: "exp_avg_sq.model.norm.weight"), step,
            "lacks tensor 'exp_avg_sq.model.norm.weight'").SetName("missing second moment");
        yield return new TestCaseData(State(shrink: 1), step,
            $"tensor 'exp_avg.{embedding}' has shape [847], the model's '{embedding}' is [53, 16]").SetName("other model");
        yield return new TestCaseData(State(), new Dictionary<string, string> { ["beta1"] = "0.9" }, "lacks 'step'").SetName("no step");
        yield return new TestCaseData(State(), new Dictionary<string, string> { ["step"] = "-1" }, "not a non-negative integer").SetName("negative step");
        yield return new TestCaseData(State(), new Dictionary<string, string> { ["step"] = "2.5" }, "not a non-negative integer").SetName("fractional step");
        yield return new TestCaseData(State(second: -1), step, "negative value at index 0").SetName("negative second moment");
        yield return new TestCaseData(State(first: float.NaN), step, "NaN at index 0").SetName("NaN first moment");
    }

    [TestCaseSource(nameof(BadFiles))]
    public void BadStateFilesAreRefusedWithTheirName(TensorToWrite[] tensors, Dictionary<string, string> metadata, string problem)
    {
        using var scratch = new TempDirectory();
        var path = scratch.File("optimizer.safetensors");
        SafeTensorsWriter.Write(path, tensors, metadata);
        AssertRefused(path, problem);
    }

    [Test]
    public void MissingTruncatedOrWrongPrecisionFilesAreRefused()
    {
        using var scratch = new TempDirectory();
        AssertRefused(scratch.File("absent.safetensors"), "file not found");

        var path = scratch.File(AdamWOptimizer<float>.FileName);
        using (var model = LlamaFixture.Load<float>("tied"))
        using (var optimizer = new AdamWOptimizer<float>(model, new AdamWSettings()))
            optimizer.Save(path);
        var truncated = scratch.File("truncated.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length - 100)]);
        AssertRefused(truncated, "truncated file?");

        // A float32 state does not silently widen into a float64 run.
        using var doubleModel = LlamaFixture.Load<double>("tied");
        using var doubleOptimizer = new AdamWOptimizer<double>(doubleModel, new AdamWSettings());
        var error = Assert.Throws<BadInputException>(() => doubleOptimizer.Load(path))!;
        Assert.That(error.File, Is.EqualTo(path));
        Assert.That(error.Message, Does.Contain("cannot be read as float64"));
    }

    /// <summary>Loading into a float32 model of the tied fixture fails with the file named and leaves the optimizer as it was.</summary>
    private static void AssertRefused(string path, string problem)
    {
        using var model = LlamaFixture.Load<float>("tied");
        using var optimizer = new AdamWOptimizer<float>(model, new AdamWSettings());
        var error = Assert.Throws<BadInputException>(() => optimizer.Load(path))!;
        Assert.That(error.File, Is.EqualTo(path));
        Assert.That(error.Message, Does.StartWith(path).And.Contain(problem));
        Assert.That(optimizer.StepCount, Is.EqualTo(0));
        Assert.That(optimizer.FirstMoment.ToArray(), Is.All.EqualTo(0f));
    }

    /// <summary>g_i = 0.1·sin(i)·(1 + i mod 7), a deterministic gradient with no zero pattern; its norm in float64.</summary>
    private static float[] KnownGradient(int length, out double norm)
    {
        var gradient = new float[length];
        for (var i = 0; i < length; i++) gradient[i] = (float)(0.1 * Math.Sin(i) * (1 + i % 7));
        norm = Math.Sqrt(gradient.Sum(g => (double)g * g));
        return gradient;
    }
}
