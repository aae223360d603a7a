using System.Diagnostics;
using System.Numerics;
using System.Text.Json;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Progress;

namespace SimNpo.Unlearn.Training;

/// <summary>What a finished run reports. StartStep is the step it resumed from: Steps when it had already finished, and then no step ran (FinalLoss is
/// NaN).</summary>
public sealed record TrainingSummary(int Steps, double FinalLoss, double Seconds, IReadOnlyDictionary<string, double>? InitialEval,
    IReadOnlyDictionary<string, double>? FinalEval,
    int StartStep = 0)
{
    public bool AlreadyFinished => StartStep == Steps;
}

/// <summary>
/// Trains a model on the forget (or training) set with the settings' objective: epochs of seeded shuffles, a retain
/// example paired with each forget example, micro-batches accumulated into optimizer steps, AdamW with clipping and a
/// schedule, a JSON Lines log of every step, checkpoints, and resumption that reproduces an uninterrupted run exactly.
/// The run folder receives run.json (the settings as the caller words them), log.jsonl, checkpoints/ and, at the end,
/// the final model. With inputs, inputs.json records the files the run reads, and a resume with other ones is refused.
/// </summary>
public sealed class Trainer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly TrainingJob<T> _job;
    private readonly LlamaModel<T> model;
    private readonly TrainingSettings settings;
    private readonly TrainingData data;
    private readonly string runDirectory;
    private readonly ITrainingObserver observer;
    private readonly ICommunicator communicator;
    private readonly bool writes;

    /// <summary>Built by <see cref="TrainingJob{T}.Run"/> only: a job is how a run is described.</summary>
    internal Trainer(TrainingJob<T> job)
    {
        _job = job;
        (model, settings, data, runDirectory, communicator) = (job.Model, job.Settings, job.Data, job.RunDirectory, job.Communicator);
        // Under MPI every rank runs this loop on the same data; rank 0 alone writes files and reports.
        writes = communicator.IsRoot;
        observer = writes ? job.Observer : new SilentObserver();
    }

    public const string LogFileName = "log.jsonl";
    public const string RunSettingsFileName = "run.json";

    private static readonly JsonSerializerOptions LogJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public TrainingSummary Run(bool resume)
    {
        if (settings.Problem() is { } problem) throw new ArgumentException(problem);
        data.Validate(settings);
        if (writes)
        {
            Directory.CreateDirectory(runDirectory);
            foreach (var stale in Checkpoint.RemoveTemporaries(runDirectory))
                observer.Message($"removed {stale}, left by a run stopped while writing a checkpoint");
        }
        var inputs = _job.Inputs;
        var recordedInputs = resume ? RunInputs.Load(runDirectory) : null;
        if (inputs is not null && recordedInputs is not null) inputs.CheckContinues(recordedInputs, runDirectory, observer.Message);
        else if (inputs is not null && resume)
            observer.Message($"{runDirectory} records no {RunInputs.FileName} (a run from before inputs were recorded): its data and model cannot be checked");
        var steps = new StepPlan(data.Forget.Count, data.Retain.Count, settings);
        var totalSteps = steps.TotalSteps;
        var schedule = new LearningRateSchedule(LearningRateSchedule.ParseKind(settings.Schedule), settings.LearningRate, totalSteps, steps.WarmupSteps);
        if (model.Precision.Name != settings.Precision)
            throw new ArgumentException($"the settings ask for precision {settings.Precision} but the model stores {model.Precision.Name}");
        using IParameterOptimizer<T> optimizer = _job.ShardOptimizer && communicator.Size > 1
            ? new ShardedAdamWOptimizer<T>(model, settings.AdamW, communicator, settings.MomentStorage)
            : new AdamWOptimizer<T>(model, settings.AdamW, settings.MomentStorage);
        model.Recompute = RecomputeNames.Parse(settings.Recompute);
        // Before anything is computed or written: a gradient path that cannot start (NCCL missing) leaves the folder as it was.
        var gradients = StepGradients.For(model, communicator, observer.Message, _job.GradientSum, _job.NcclLibrary);
        using var disposeGradients = gradients as IDisposable;

        // Rank 0 checks and prepares the folder (reference log-probs, trimmed log) before the others read from it.
        var reference = settings.TrainingMethod.NeedsReferenceLogProbs && writes ? ReferenceFor(resume) : null;
        var (startStep, lastCheckpoint) = writes ? (resume ? Resume(optimizer) : (Fresh(), null)) : (0, null);
        communicator.Barrier();
        if (!writes)
        {
            if (settings.TrainingMethod.NeedsReferenceLogProbs)
                reference = ReferenceLogProbs.Load(Path.Combine(runDirectory, ReferenceLogProbs.FileName), data);
            if (resume && Checkpoint.LoadNewest(runDirectory, model, optimizer, settings, observer.Message) is var (checkpoint, step))
                (startStep, lastCheckpoint) = (step, checkpoint);
        }
        if (writes)
        {
            // Recorded when the run starts (or starts over), and for a run from before inputs were recorded, from now on.
            if (inputs is not null && (startStep == 0 || recordedInputs is null)) inputs.Save(runDirectory);
            if (startStep == totalSteps) observer.Message($"the run in {runDirectory} had already finished its {totalSteps} steps: nothing to resume");
            // Written only now: a refused start must not overwrite the settings of the run already in the folder.
            if (_job.RunSettingsJson is { } runSettingsJson) AtomicFile.WriteAllText(Path.Combine(runDirectory, RunSettingsFileName), runSettingsJson);
        }

        using var klReference = settings.UsesRetainTerm && settings.RetainLoss == "kl" ? LoadKlReference() : null;
        var loss = new MicroBatchLoss<T>(settings, data, reference, klReference);
        var initialEval = startStep == 0 ? _job.Evaluate?.Invoke(model) : null;
        var clock = Stopwatch.StartNew();
        using var log = writes ? new StreamWriter(Path.Combine(runDirectory, LogFileName), append: true) : TextWriter.Null;
        StepRecord? record = null;
        using var progress = startStep < totalSteps
            ? ProgressReporting.Start($"{settings.Method} {Path.GetFileName(Path.TrimEndingDirectorySeparator(runDirectory))}", totalSteps - startStep, "steps")
            : SilentProgress.Instance;
        for (var step = startStep + 1; step <= totalSteps; step++)
        {
            record = TrainStep(step, steps.EpochOf(step), steps.MicroBatches(step), loss, gradients, optimizer, schedule.At(step - 1), lastCheckpoint);
            if (settings.EvalEvery > 0 && (step % settings.EvalEvery == 0 || step == totalSteps))
                record = record with { Eval = _job.Evaluate?.Invoke(model) };
            progress.Describe(FormattableString.Invariant($"step {step}/{totalSteps} loss {record.Loss:F4}"));
            progress.Advance();
            log.WriteLine(JsonSerializer.Serialize(record, LogJson));
            log.Flush();
            observer.StepDone(record, totalSteps);
            // Every rank takes part (a sharded optimizer gathers its state to rank 0); rank 0 alone writes.
            if ((writes || optimizer.IsSharded) && (step == totalSteps || (settings.SaveEvery > 0 ? step % settings.SaveEvery == 0 : steps.EndsEpoch(step))))
            {
                lastCheckpoint = Checkpoint.Save(runDirectory, step, model, optimizer, settings, _job.TokenizerSource, writes);
                observer.Message($"checkpoint {lastCheckpoint}");
            }
        }
        using var gathered = optimizer.GatherWeightsToSave();
        if (writes)
        {
            ModelFiles.Save(model, runDirectory, _job.TokenizerSource, settings.SaveDType is { } dtype ? ModelFiles.SaveDTypes[dtype] : null, weights: gathered);
            observer.Message($"model written to {runDirectory}");
        }
        // No rank leaves before the model is on disk: a failure while writing it still ends the whole job.
        communicator.Barrier();
        return new TrainingSummary(totalSteps, record?.Loss ?? double.NaN, clock.Elapsed.TotalSeconds, initialEval, record?.Eval, startStep);
    }

    private StepRecord TrainStep(int step, int epoch, IReadOnlyList<(int[] Forget, int[] Retain)> microBatches, MicroBatchLoss<T> loss,
        IStepGradients gradients, IParameterOptimizer<T> optimizer, double learningRate, string? lastCheckpoint)
    {
        var started = Stopwatch.GetTimestamp();
        var scale = 1.0 / microBatches.Count;
        var results = gradients.Run(microBatches.Count, m => loss.Run(model, microBatches[m].Forget, microBatches[m].Retain, scale));
        var forgetLoss = results.Average(r => r.ForgetLoss);
        double? retainLoss = settings.UsesRetainTerm ? results.Average(r => r.RetainLoss!.Value) : null;
        var total = settings.ForgetWeight * forgetLoss + settings.RetainWeight * (retainLoss ?? 0);
        if (!double.IsFinite(total)) throw new TrainingDivergedException(step, $"the loss is {total}", lastCheckpoint);
        double gradNorm;
        try
        {
            gradNorm = optimizer.Step(learningRate);
        }
        catch (InvalidOperationException e)
        {
            throw new TrainingDivergedException(step, e.Message, lastCheckpoint);
        }
        return new StepRecord
        {
            Step = step,
            Epoch = epoch,
            LearningRate = learningRate,
            Loss = total,
            ForgetLoss = forgetLoss,
            RetainLoss = retainLoss,
            GradNorm = gradNorm,
            ForgetNormalisedLogProb = results.Average(r => r.ForgetNormalisedLogProb),
            Tokens = results.Sum(r => r.Tokens),
            Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds,
        };
    }

    private int Fresh()
    {
        var log = Path.Combine(runDirectory, LogFileName);
        if (File.Exists(log) || Checkpoint.Latest(runDirectory) is not null)
            throw new BadInputException(runDirectory, "holds an earlier run; pass --resume to continue it or choose another output folder");
        return 0;
    }

    /// <summary>Restores the newest checkpoint and trims the log to it (a killed run may have logged past it).</summary>
    private (int Step, string? Checkpoint) Resume(IParameterOptimizer<T> optimizer)
    {
        if (Checkpoint.LoadNewest(runDirectory, model, optimizer, settings, observer.Message) is not var (checkpoint, step))
        {
            observer.Message($"no checkpoint in {runDirectory}: starting from the beginning");
            File.Delete(Path.Combine(runDirectory, LogFileName));
            return (0, null);
        }
        StepLog.KeepThrough(Path.Combine(runDirectory, LogFileName), step, observer.Message);
        observer.Message($"resuming from {checkpoint} (step {step})");
        return (step, checkpoint);
    }

    private ReferenceLogProbs ReferenceFor(bool resume)
    {
        var path = Path.Combine(runDirectory, ReferenceLogProbs.FileName);
        if (resume && File.Exists(path)) return ReferenceLogProbs.Load(path, data);
        observer.Message("computing the reference log-probs of the forget answers (the model before unlearning)");
        var reference = ReferenceLogProbs.Compute(model, data, settings.BatchSize, settings.MaxLength);
        reference.Save(path);
        return reference;
    }

    private LlamaModel<T> LoadKlReference()
    {
        observer.Message("loading the reference model for the KL retain term (a second copy of the weights stays in memory)");
        var reference = (_job.LoadKlReference ?? throw new InvalidOperationException("the KL retain term needs a way to load the reference model"))();
        reference.Recompute = model.Recompute; // it only runs forward: with layers it keeps one layer's activations too
        return reference;
    }
}
