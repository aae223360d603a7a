using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Reports;
using SimNpo.Unlearn.Training;

namespace SimNpo.Cli;

/// <summary>
/// The data files and folders of a run, resolved from the command line and the --config file. Inputs holds them (and
/// any other option of the command) under their option names, for run.json.
/// </summary>
public sealed record RunPaths(string? Model, string Data, string? Retain, string? Refusals, string Output, string? TokenizerSource, JsonObject Inputs);

/// <summary>--shard-optimizer, --gradient-sum and --nccl-library, resolved (command line, else --config); recorded in run.json.</summary>
public sealed record DataParallelValues(bool ShardOptimizer, GradientSum GradientSum, string NcclLibrary)
{
    public JsonObject ToJson() => new()
    {
        ["shard-optimizer"] = ShardOptimizer, ["gradient-sum"] = GradientSum.ToString().ToLowerInvariant(), ["nccl-library"] = NcclLibrary,
    };
}

/// <summary>What `finetune` and `unlearn` share: reading the data, building the model, running the trainer, reporting.</summary>
public static class TrainingRun
{
    /// <summary>The options in RunPaths.Inputs that name a file or model the run reads: recorded so that --resume continues only the same run.</summary>
    private static readonly string[] ReadInputs = ["model", "model-config", "forget", "data", "retain", "refusals"];

    /// <summary>
    /// --gradient-sum nccl only on CUDA, the one device NCCL serves (the trainer itself also takes ILGPU's simulators, for
    /// tests), and with a library that loads: both refused before any weights load.
    /// </summary>
    private static void CheckGradientSum(DataParallelValues parallel, IOps<float> ops)
    {
        if (parallel.GradientSum != GradientSum.Nccl) return;
        if (!(ops is IlgpuOps device && device.IsCuda()))
            throw new UsageException($"--gradient-sum nccl sums GPU buffers: it needs a CUDA device (--device cuda), not {ops.Name}");
        if (Unlearn.Distributed.Nccl.NcclLibrary.TryLoad(out var problem, parallel.NcclLibrary) is null)
            throw new NotSupportedException($"--gradient-sum nccl: {problem}");
    }

    public static int Execute(ParseResult parse, TrainingSettings settings, RunPaths paths, (bool Resume, bool Overwrite) start, PromptTemplate template,
        DataParallelValues parallel, Func<IOps<float>, Precision, LlamaModel<float>> createModel)
    {
        var output = parse.InvocationConfiguration.Output;
        // Under MPI, rank 0 claims and writes the folder; the others only read from it.
        using var claim = !Communicators.World.IsRoot ? null : RunFolder.Claim(paths.Output,
            [("--model", paths.Model), ("--tokenizer", paths.TokenizerSource), ("--model-config", (string?)paths.Inputs["model-config"])],
            start.Overwrite, output);
        var ops = Devices.Create(settings.Device);
        CheckGradientSum(parallel, ops);
        // A resume with other settings (a recompute setting among them) is refused before any weights load.
        if (start.Resume) Checkpoint.RefuseOtherSettings(paths.Output, settings);
        var precision = Precision.Parse(settings.Precision);
        if (!ops.Supports(settings.MomentStorage))
            throw new UsageException($"--optimizer-state {settings.OptimizerState} is not available on the {ops.Name} device");
        using var model = createModel(ops, precision);
        output.WriteLine(
            $"{settings.Method} on {ops.Name}: {model.Layout.TotalLength:N0} parameters, {model.Config.NumHiddenLayers} layers, dim {model.Config.HiddenSize}");

        TrainingData data;
        try
        {
            data = new TrainingFiles([paths.Data], paths.Retain, paths.Refusals).Read(model.Config,
                TrainingFiles.LazyEncoder(paths.TokenizerSource, model.Config, template), settings, output.WriteLine);
        }
        catch (MissingTrainingInputException e)
        {
            throw new UsageException(e.Message);
        }
        try
        {
            data.Validate(settings);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        var observer = CommonOptions.WithTensorBoard(ConsoleTrainingObserver.For(output), parse.GetValue<string?>(CommonOptions.TensorBoardName), out var events);
        using var eventFile = events;
        var job = TrainingJob.FromModelFolder(model, paths.Model, settings, data, paths.Output, observer) with
        {
            TokenizerSource = paths.TokenizerSource,
            RunSettingsJson = RunSettings(parse.CommandResult.Command, settings, paths, template, parallel),
            Inputs = Inputs(paths, settings),
            ShardOptimizer = parallel.ShardOptimizer,
            GradientSum = parallel.GradientSum,
            NcclLibrary = parallel.NcclLibrary,
        };
        var summary = job.Run(start.Resume);
        var plots = Communicators.World.IsRoot ? TrainingCurves.Save(paths.Output, paths.Output + Path.DirectorySeparatorChar, settings.Method) : [];
        output.WriteLine(summary.AlreadyFinished
            ? $"already finished: {summary.Steps} steps; the model, run.json, log.jsonl and "
                + $"{string.Join(", ", plots.Select(Path.GetFileName))} are in {paths.Output}"
            : $"done: {summary.Steps} steps in {summary.Seconds:F1} s, final loss {summary.FinalLoss:F4}; model, run.json, log.jsonl and " +
              $"{string.Join(", ", plots.Select(Path.GetFileName))} in {paths.Output}");
        if (summary.InitialEval is { } before && summary.FinalEval is { } after)
            foreach (var (name, value) in after)
                output.WriteLine($"{name}: {before[name]:F4} -> {value:F4}");
        return 0;
    }

    private static RunInputs Inputs(RunPaths paths, TrainingSettings settings) =>
        RunInputs.Hash(
            from pair in paths.Inputs
            where ReadInputs.Contains(pair.Key) && pair.Value is not null && (pair.Key != "refusals" || settings.TrainingMethod.NeedsRefusals)
            select (pair.Key, pair.Value!.GetValue<string>()));

    /// <summary>run.json: every resolved option of the command under its name without dashes, so --config reads it back.</summary>
    private static string RunSettings(Command command, TrainingSettings settings, RunPaths paths, PromptTemplate template, DataParallelValues parallel)
    {
        var options = command.Options.Select(o => o.Name.TrimStart('-')).ToHashSet();
        var json = new JsonObject();
        var prompt = new JsonObject { ["chat-template"] = template.Name, ["prompt-format"] = template.PromptFormat, ["answer-prefix"] = template.AnswerPrefix };
        foreach (var (key, value) in JsonNode.Parse(settings.ToJson())!.AsObject().Concat(paths.Inputs).Concat(prompt).Concat(parallel.ToJson()))
            if (options.Contains(key) && value is not null) json[key] = value.DeepClone();
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
