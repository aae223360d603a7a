using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// One training run, described whole: the model, the resolved settings, the data, the run folder and who hears about
/// it, plus what some runs add (the tokenizer saved with the model, how to load the KL reference model, an evaluation
/// logged every eval-every steps, run.json's text, the inputs a resume must match). Every caller (the commands, the
/// TOFU protocol, relearning, the experiments, the tests) builds one of these and runs it; <see cref="Trainer{T}"/>
/// is the loop behind <see cref="Run"/>.
/// </summary>
public sealed record TrainingJob<T>(LlamaModel<T> Model, TrainingSettings Settings, TrainingData Data, string RunDirectory, ITrainingObserver Observer)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The folder whose tokenizer files are copied beside the saved model and checkpoints.</summary>
    public string? TokenizerSource { get; init; }

    /// <summary>Loads π_ref for the KL retain term; called only when the settings ask for it.</summary>
    public Func<LlamaModel<T>>? LoadKlReference { get; init; }

    /// <summary>Measured at the start and every eval-every steps; its values go into the log.</summary>
    public Func<LlamaModel<T>, IReadOnlyDictionary<string, double>>? Evaluate { get; init; }

    /// <summary>run.json's text, written once the start is accepted; null writes none.</summary>
    public string? RunSettingsJson { get; init; }

    /// <summary>The files the run reads, recorded in inputs.json so that a resume with other ones is refused.</summary>
    public RunInputs? Inputs { get; init; }

    /// <summary>The ranks that train together (data-parallel): rank 0 alone writes the run folder and tells the observer.</summary>
    public ICommunicator Communicator { get; init; } = Communicators.World;

    /// <summary>ZeRO stage 1 over the communicator's ranks (--shard-optimizer): each keeps its slice of the optimizer state only.</summary>
    public bool ShardOptimizer { get; init; }

    /// <summary>How the step's gradients are summed across the ranks (--gradient-sum).</summary>
    public GradientSum GradientSum { get; init; }

    /// <summary>The NCCL library loaded when NCCL sums the gradients: a file name on the loader's path, or a path (--nccl-library).</summary>
    public string NcclLibrary { get; init; } = Distributed.Nccl.NcclLibrary.FileName;

    public TrainingSummary Run(bool resume) => new Trainer<T>(this).Run(resume);
}

/// <summary>Builds the jobs that start from a model folder, as the commands and the TOFU protocol do.</summary>
public static class TrainingJob
{
    /// <summary>
    /// A job on a model loaded from startModel: the KL reference is that same folder loaded again in the model's
    /// precision, and with eval-every the forget and retain log-probs are the logged evaluation.
    /// </summary>
    public static TrainingJob<float> FromModelFolder(LlamaModel<float> model, string? startModel, TrainingSettings settings, TrainingData data,
        string runDirectory,
        ITrainingObserver observer) =>
        new(model, settings, data, runDirectory, observer)
        {
            TokenizerSource = startModel,
            LoadKlReference = () => ModelFiles.Load(startModel ?? throw new ArgumentException("the KL retain term needs --model"), model.Ops, model.Precision),
            Evaluate = settings.EvalEvery > 0 ? Evaluation.LogProbCurve.For(data, settings, Communicators.World) : null,
        };
}
