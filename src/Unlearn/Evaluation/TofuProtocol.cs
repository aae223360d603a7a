using SimNpo.Kernels;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Progress;
using SimNpo.Unlearn.Reports;
using SimNpo.Unlearn.Reports.TensorBoard;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// What `simnpo tofu` runs. Unlearning holds the unlearning settings (its Method is replaced by each of Methods);
/// Finetune those of the target and retain models. Given models are taken as they are.
/// </summary>
public sealed record TofuProtocolSettings
{
    public required string BaseModel { get; init; }
    public string? TargetModel { get; init; }
    public string? RetainModel { get; init; }
    public required IReadOnlyList<string> Methods { get; init; }
    public required TrainingSettings Unlearning { get; init; }
    /// <summary>A method's own settings (its preset resolved), used instead of Unlearning with its Method replaced.</summary>
    public IReadOnlyDictionary<string, TrainingSettings>? MethodSettings { get; init; }
    public required TrainingSettings Finetune { get; init; }
    /// <summary>Data folder, forget set and evaluation limits.</summary>
    public required TofuSettings Evaluation { get; init; }
    public required string OutputDirectory { get; init; }
    /// <summary>With a folder, each trained model's steps also go to TensorBoard event files in its subfolder (target, retain, a method).</summary>
    public string? TensorBoardDirectory { get; init; }

    /// <summary>retain90 for forget10: the authors the retain model is trained on.</summary>
    public string RetainSplit => TofuDataFiles.RetainSplit(Evaluation.ForgetSet);
}

/// <summary>
/// The TOFU protocol end to end: fine-tune the base model on full (the target) and on retainXX (the retain model),
/// unlearn the target's forget set with each method (retainXX as the retain set), evaluate the target, the retain model
/// and every unlearned model, and report forget quality (against the retain model's truth ratios) and model utility.
/// Every trained model lives in the run folder; a later run takes the finished ones and resumes unfinished ones.
/// </summary>
public sealed class TofuProtocol(TofuProtocolSettings settings, ITrainingObserver observer)
{
    public const string TargetName = "target";
    public const string RetainName = "retain";

    /// <summary>Unlearning runs are evaluated about this many times, so each has a log-prob curve.</summary>
    private const int CurvePoints = 20;

    private IProgressTask _progress = SilentProgress.Instance;

    private string DataFile(string split) => TofuDataFiles.Find(settings.Evaluation.DataDirectory, split);

    private string Output(string name) => Path.Combine(settings.OutputDirectory, name);

    public TofuProtocolReport Run()
    {
        if (settings.Methods.Count == 0) throw new ArgumentException("no unlearning method given");
        Directory.CreateDirectory(settings.OutputDirectory);
        // Each model is trained (or found) once and evaluated once: target, retain and one per method.
        _progress = ProgressReporting.Start("tofu protocol", 2 * (2 + settings.Methods.Count), "phases");
        using var progress = _progress;
        var ops = Devices.Create(settings.Unlearning.Device);
        // general_knowledge.jsonl (generated data only) holds what a model trained from scratch must know beforehand.
        var general = DataFile(Path.GetFileNameWithoutExtension(Experiments.FictitiousAuthorsDataset.GeneralKnowledgeFile));
        string[] WithGeneral(string split) => File.Exists(general) ? [DataFile(split), general] : [DataFile(split)];

        var target = settings.TargetModel ?? Train(ops, TargetName, settings.BaseModel, settings.Finetune, WithGeneral("full"), null);
        var retain = settings.RetainModel ?? Train(ops, RetainName, settings.BaseModel, settings.Finetune, WithGeneral(settings.RetainSplit), null);
        var unlearned = settings.Methods.Select(method => (method, directory: Train(ops, method, target,
            settings.MethodSettings?.GetValueOrDefault(method) ?? settings.Unlearning with { Method = method }, [DataFile(settings.Evaluation.ForgetSet)],
            DataFile(settings.RetainSplit)))).ToArray();

        var retainReport = Evaluate(ops, RetainName, retain);
        var retainRatios = retainReport.ForgetTruthRatios;
        var reports = new[] { (name: TargetName, directory: target), (name: RetainName, directory: retain) }
            .Concat(unlearned.Select(u => (name: u.method, u.directory)))
            .Select(m => (m.name,
                report: (m.name == RetainName ? retainReport : Evaluate(ops, m.name, m.directory)).WithForgetQuality(retainRatios, Output("eval/retain.json"))))
            .ToArray();
        foreach (var (name, report) in reports) report.Write(Output($"eval/{name}.json"));

        var protocol = TofuProtocolReport.From(settings, reports);
        protocol.Write(Output(TofuProtocolReport.FileName));
        TofuProtocolPlots.Save(protocol, reports.ToDictionary(r => r.name, r => r.report), Output("plots"),
            unlearned.ToDictionary(u => u.method, u => u.directory));
        return protocol;
    }

    private TofuReport Evaluate(IOps<float> ops, string name, string directory)
    {
        observer.Message($"evaluating {name} ({directory})");
        var report = TofuEvaluation.Evaluate(directory, ops, settings.Evaluation, observer.Message);
        _progress.Advance();
        return report;
    }

    /// <summary>
    /// Trains start into RUN/name on the given files (concatenated) unless a finished model is there; a folder left by
    /// an interrupted run is resumed from its last checkpoint.
    /// </summary>
    private string Train(IOps<float> ops, string name, string start, TrainingSettings training, string[] dataFiles, string? retainFile)
    {
        var directory = TrainOnce(ops, name, start, training, dataFiles, retainFile);
        _progress.Advance();
        return directory;
    }

    private string TrainOnce(IOps<float> ops, string name, string start, TrainingSettings training, string[] dataFiles, string? retainFile)
    {
        var directory = Output(name);
        if (File.Exists(Path.Combine(directory, "model.safetensors")))
        {
            observer.Message($"{name}: model found in {directory}, not trained again");
            return directory;
        }
        observer.Message($"{name}: {training.Method} from {start} on {string.Join(" + ", dataFiles.Select(Path.GetFileName))}");
        using var model = ModelFiles.Load(start, ops, Kernels.Precision.Parse(training.Precision), masterWeights: true);
        var encoder = new ExampleEncoder(TokenizerLoader.Load(start, model.Config), settings.Evaluation.Template);
        var data = new TrainingFiles(dataFiles, retainFile).Read(model.Config, () => encoder, training, observer.Message);
        if (training.TrainingMethod.Unlearns)
        {
            var steps = StepPlan.CountSteps(data.Forget.Count, training);
            training = training with { EvalEvery = training.EvalEvery > 0 ? training.EvalEvery : (int)Math.Max(1, steps / CurvePoints) };
        }
        using var events = settings.TensorBoardDirectory is { } board ? new EventFileWriter(Path.Combine(board, name)) : null;
        (TrainingJob.FromModelFolder(model, start, training, data, directory, events is null ? observer : new TensorBoardObserver(observer, events))
            with { RunSettingsJson = training.ToJson() + "\n" }).Run(resume: Directory.Exists(directory));
        return directory;
    }
}
