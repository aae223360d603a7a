using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Training;

/// <summary>Checkpoints, resumption, divergence and the NPO starting point of the trainer.</summary>
public class TrainerTests
{
    private static TrainingSettings Unlearning(string method = "simnpo") => new()
    {
        Method = method,
        LearningRate = 5e-3,
        Epochs = 3,
        BatchSize = 3,
        GradAccum = 2,
        Warmup = "2",
        SaveEvery = 2,
    };

    private static TrainingData Data => new(TinyTask.Forget, TinyTask.Retain);

    /// <summary>Stops a run after a given step, as a kill would (the step's checkpoint, if any, is already written).</summary>
    internal sealed class StopAfter(int step) : ITrainingObserver
    {
        public void Message(string text) { }

        public void StepDone(StepRecord record, int totalSteps)
        {
            if (record.Step == step) throw new OperationCanceledException("killed");
        }
    }

    [Test]
    public void ResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne()
    {
        using var directory = new TempDirectory();
        using var uninterrupted = TinyTask.NewModel();
        new TrainingJob<float>(uninterrupted, Unlearning(), Data, directory.File("whole"), new SilentObserver()).Run(resume: false);

        using (var killed = TinyTask.NewModel())
            Assert.Throws<OperationCanceledException>(() => new TrainingJob<float>(killed, Unlearning(), Data, directory.File("split"),
                new StopAfter(5)).Run(resume: false));
        Assert.That(Checkpoint.Latest(directory.File("split")), Does.EndWith("step-000004"));
        using var resumed = TinyTask.NewModel(seed: 99);
        new TrainingJob<float>(resumed, Unlearning(), Data, directory.File("split"), new SilentObserver()).Run(resume: true);

        Assert.That(resumed.Parameters.ToArray(), Is.EqualTo(uninterrupted.Parameters.ToArray()), "bit for bit");
        var wholeLog = File.ReadAllLines(Path.Combine(directory.File("whole"), Trainer<float>.LogFileName)).Select(WithoutTimes);
        var splitLog = File.ReadAllLines(Path.Combine(directory.File("split"), Trainer<float>.LogFileName)).Select(WithoutTimes);
        Assert.That(splitLog, Is.EqualTo(wholeLog), "the log holds each step once, with the same numbers");
    }

    private static string WithoutTimes(string line) => System.Text.RegularExpressions.Regex.Replace(line, "\"seconds\":[^,}]*", "");

    [Test]
    public void ACorruptedCheckpointIsRefusedNamingTheFile()
    {
        using var directory = new TempDirectory();
        using (var model = TinyTask.NewModel())
            Assert.Throws<OperationCanceledException>(() => new TrainingJob<float>(model, Unlearning(), Data, directory.Path,
                new StopAfter(3)).Run(resume: false));
        var weights = Path.Combine(Checkpoint.Latest(directory.Path)!, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        using var resumed = TinyTask.NewModel();
        var error = Assert.Throws<BadInputException>(() => new TrainingJob<float>(resumed, Unlearning(), Data, directory.Path,
            new SilentObserver()).Run(resume: true))!;
        Assert.That(error.File, Is.EqualTo(weights));
    }

    [Test]
    public void OtherSettingsCannotResumeARun()
    {
        using var directory = new TempDirectory();
        using (var model = TinyTask.NewModel())
            Assert.Throws<OperationCanceledException>(() => new TrainingJob<float>(model, Unlearning(), Data, directory.Path,
                new StopAfter(3)).Run(resume: false));
        using var resumed = TinyTask.NewModel();
        var error = Assert.Throws<BadInputException>(() =>
            new TrainingJob<float>(resumed, Unlearning() with { LearningRate = 1e-3 }, Data, directory.Path, new SilentObserver()).Run(resume: true))!;
        Assert.That(error.Message, Does.Contain("other settings"));
    }

    [Test]
    public void AFreshRunRefusesAFolderHoldingAnother()
    {
        using var directory = new TempDirectory();
        using var model = TinyTask.NewModel();
        new TrainingJob<float>(model, Unlearning() with { Epochs = 1 }, Data, directory.Path,
            new SilentObserver()) { RunSettingsJson = "first" }.Run(resume: false);
        var error = Assert.Throws<BadInputException>(() =>
            new TrainingJob<float>(model, Unlearning(), Data, directory.Path, new SilentObserver()) { RunSettingsJson = "second" }.Run(resume: false))!;
        Assert.That(error.Message, Does.Contain("--resume"));
        Assert.That(File.ReadAllText(Path.Combine(directory.Path, Trainer<float>.RunSettingsFileName)), Is.EqualTo("first"),
            "the earlier run's settings are kept");
    }

    /// <summary>A weight turned NaN after step 2 makes step 3's loss NaN: the run stops there, naming it and the last checkpoint.</summary>
    [Test]
    public void ANonFiniteLossStopsTheRunNamingTheStep()
    {
        using var directory = new TempDirectory();
        using var model = TinyTask.NewModel();
        var poison = new PoisonAfter(model, 2);
        var error = Assert.Throws<TrainingDivergedException>(() => new TrainingJob<float>(model, Unlearning(), Data, directory.Path,
            poison).Run(resume: false))!;
        Assert.That(error.Step, Is.EqualTo(3));
        Assert.That(error.Message, Does.StartWith("step 3: the loss is NaN").And.Contain("step-000002"));
        Assert.That(Checkpoint.Latest(directory.Path), Does.EndWith("step-000002"));
    }

    private sealed class PoisonAfter(LlamaModel<float> model, int step) : ITrainingObserver
    {
        public void Message(string text) { }

        public void StepDone(StepRecord record, int totalSteps)
        {
            if (record.Step == step) model.Weight(model.Layout.FinalNorm.Weight).Span[0] = float.NaN;
        }
    }

    /// <summary>
    /// At the first step θ = ref, so every sequence's log-ratio is exactly 0 (the reference log-probs come from the same
    /// float32 computation) and the NPO loss is (2/β)·log 2 to float64 rounding.
    /// </summary>
    [Test]
    public void NpoStartsAtTwoOverBetaLogTwo()
    {
        using var directory = new TempDirectory();
        using var model = TinyTask.NewModel();
        StepRecord? first = null;
        var observer = new FirstStep(record => first ??= record);
        new TrainingJob<float>(model, Unlearning("npo") with { Epochs = 1, Beta = 0.1 }, Data, directory.Path, observer).Run(resume: false);
        Assert.That(first!.ForgetLoss, Is.EqualTo(2 / 0.1 * Math.Log(2)).Within(1e-12));
    }

    private sealed class FirstStep(Action<StepRecord> seen) : ITrainingObserver
    {
        public void Message(string text) { }

        public void StepDone(StepRecord record, int totalSteps) => seen(record);
    }
}
