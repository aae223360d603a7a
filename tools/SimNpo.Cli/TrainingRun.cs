using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Reports;
using SimNpo.Unlearn.Training;

namespace SimNpo.Cli;

/// <summary>
/// The data files and folders of a run, resolved from the command line and the --config file. Inputs holds them (and
/// any other option of the command) under their option names, for run.json.
/// </summary>
public sealed record RunPaths(string? Model, string Data, string? Retain, string? Refusals, string Output, string? TokenizerSource, JsonObject Inputs);

/// <summary>What `finetune` and `unlearn` share: reading the data, building the model, running the trainer, reporting.</summary>
public static class TrainingRun
{

    public static int Execute(ParseResult parse, TrainingSettings settings, RunPaths paths, bool resume, PromptTemplate template,
        Func<IOps<float>, Precision, LlamaModel<float>> createModel)
    {
        var output = parse.InvocationConfiguration.Output;
        var ops = Devices.Create(settings.Device);
        var precision = Precision.Parse(settings.Precision);
        if (!ops.Supports(precision.Bulk)) throw new UsageException($"--precision {precision.Name} is not available on the {ops.Name} device");
        if (!ops.Supports(settings.MomentStorage)) throw new UsageException($"--optimizer-state {settings.OptimizerState} is not available on the {ops.Name} device");
        using var model = createModel(ops, precision);
        output.WriteLine($"{settings.Method} on {ops.Name}: {model.Layout.TotalLength:N0} parameters, {model.Config.NumHiddenLayers} layers, dim {model.Config.HiddenSize}");

        ITextTokenizer? tokenizer = null;
        IReadOnlyList<TokenizedExample> Encode(IReadOnlyList<DataRecord> records)
        {
            if (records.All(r => r is PretokenizedRecord)) return records.Select(r => ((PretokenizedRecord)r).Example).ToArray();
            tokenizer ??= TokenizerLoader.Load(paths.TokenizerSource ?? throw new UsageException("question/answer records need a tokenizer: give --model or --tokenizer"), model.Config);
            return new ExampleEncoder(tokenizer, template).Encode(records);
        }
        var forgetRecords = JsonlRecords.Read(paths.Data, model.Config.VocabSize);
        var retain = paths.Retain is null ? [] : Encode(JsonlRecords.Read(paths.Retain, model.Config.VocabSize));
        IReadOnlyList<TokenizedExample>? refusals = null;
        if (settings.Method == "idkpo")
        {
            var answers = RefusalAnswers.Read(paths.Refusals ?? throw new UsageException("idkpo needs --refusals FILE (one \"I don't know\" answer per line)"));
            refusals = Encode(RefusalAnswers.Pair(forgetRecords, answers, settings.Seed));
        }
        var data = new TrainingData(Encode(forgetRecords), retain, refusals);
        try
        {
            data.Validate(settings);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        var trainer = new Trainer<float>(model, settings, data, paths.Output, ConsoleTrainingObserver.For(output),
            paths.TokenizerSource, () => ModelFiles.Load(paths.Model ?? throw new UsageException("the KL retain term needs --model"), ops, precision),
            settings.EvalEvery > 0 ? LogProbCurve.For(data, settings) : null, RunSettings(parse.CommandResult.Command, settings, paths, template));
        var summary = trainer.Run(resume);
        var plots = TrainingCurves.Save(paths.Output, paths.Output + Path.DirectorySeparatorChar, settings.Method);
        output.WriteLine($"done: {summary.Steps} steps in {summary.Seconds:F1} s, final loss {summary.FinalLoss:F4}; model, run.json, log.jsonl and " +
            $"{string.Join(", ", plots.Select(Path.GetFileName))} in {paths.Output}");
        if (summary.InitialEval is { } before && summary.FinalEval is { } after)
            foreach (var (name, value) in after)
                output.WriteLine($"{name}: {before[name]:F4} -> {value:F4}");
        return 0;
    }

    /// <summary>run.json: every resolved option of the command under its name without dashes, so --config reads it back.</summary>
    private static string RunSettings(Command command, TrainingSettings settings, RunPaths paths, PromptTemplate template)
    {
        var options = command.Options.Select(o => o.Name.TrimStart('-')).ToHashSet();
        var json = new JsonObject();
        var prompt = new JsonObject { ["prompt-format"] = template.PromptFormat, ["answer-prefix"] = template.AnswerPrefix };
        foreach (var (key, value) in JsonNode.Parse(settings.ToJson())!.AsObject().Concat(paths.Inputs).Concat(prompt))
            if (options.Contains(key) && value is not null) json[key] = value.DeepClone();
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
