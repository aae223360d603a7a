using System.CommandLine;
using SimNpo.Unlearn.Distributed;
using SimNpo.Kernels.Runtime;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Reports;
using SimNpo.Unlearn.Training;

namespace SimNpo.Cli;

/// <summary>`simnpo relearn`: the relearning attack, NLL fine-tuning on part of the forget set with the forget metrics measured along the way.</summary>
public static class RelearnCommand
{
    public static Command Create()
    {
        var defaults = new RelearnSettings();
        var model = CommonOptions.Model("the unlearned model (Hugging Face layout directory)");
        var data = new Option<FileInfo>("--data") { Description = "the forget set, JSON Lines", Required = true };
        var steps = new Option<int>("--steps") { Description = "optimizer steps of NLL fine-tuning", DefaultValueFactory = _ => defaults.Steps };
        var learningRate = new Option<double>("--lr") { Description = "constant learning rate", DefaultValueFactory = _ => defaults.LearningRate };
        var batchSize = new Option<int>("--batch-size") { Description = "examples per step", DefaultValueFactory = _ => defaults.BatchSize };
        var fraction = new Option<double>("--fraction")
            { Description = "share of the forget set trained on (a seeded random subset); the metrics cover the first --eval-items of the whole set",
            DefaultValueFactory = _ => defaults.Fraction };
        var evalEvery = new Option<int>("--eval-every") { Description = "steps between measurements of the forget metrics",
            DefaultValueFactory = _ => defaults.EvalEvery };
        var evalItems = new Option<int>("--eval-items") { Description = "first records of the forget set the metrics cover",
            DefaultValueFactory = _ => defaults.EvalItems };
        var maxLength = new Option<int>("--max-length") { Description = "longest sequence in tokens, trained, scored or generated",
            DefaultValueFactory = _ => defaults.MaxLength };
        var maxNewTokens = new Option<int?>("--max-new-tokens")
            { Description = "cap on generated answer tokens for ROUGE (default: what --max-length leaves)" };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW decoupled weight decay",
            DefaultValueFactory = _ => defaults.WeightDecay };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var prompt = new CommonOptions.TemplateOptions();
        var output = new Option<DirectoryInfo>("--out") { Description = "run folder: recovery.json, log.jsonl, the relearned model", Required = true };
        var overwrite = CommonOptions.Overwrite();
        var tensorBoard = CommonOptions.TensorBoard();
        var command = new Command("relearn",
            "Relearning attack: fine-tune an unlearned model on (part of) its forget set and record how the forget metrics recover")
        {
            model, data, steps, learningRate, batchSize, fraction, evalEvery, evalItems, maxLength, maxNewTokens, weightDecay, seed, device, precision,
                prompt.ChatTemplate, prompt.PromptFormat, prompt.AnswerPrefix, output, overwrite, tensorBoard,
        };
        command.SetAction(parse =>
        {
            var settings = new RelearnSettings
            {
                Steps = parse.GetValue(steps), LearningRate = parse.GetValue(learningRate), BatchSize = parse.GetValue(batchSize),
                    Fraction = parse.GetValue(fraction),
                EvalEvery = parse.GetValue(evalEvery), EvalItems = parse.GetValue(evalItems), MaxLength = parse.GetValue(maxLength),
                    MaxNewTokens = parse.GetValue(maxNewTokens),
                WeightDecay = parse.GetValue(weightDecay), Seed = parse.GetValue(seed), Device = parse.GetRequiredValue(device),
                Precision = CommonOptions.Precision(parse, precision, Devices.Create(parse.GetRequiredValue(device))).Name,
            };
            // The numbers the trainer takes are checked as a training run checks them, before the model is loaded.
            var training = new TrainingSettings { Method = "nll", RetainWeight = 0, LearningRate = settings.LearningRate, WeightDecay = settings.WeightDecay };
            if ((settings.Problem() ?? training.Problem()) is { } problem) throw new UsageException(problem);
            var writer = parse.InvocationConfiguration.Output;
            var runDirectory = parse.GetRequiredValue(output).FullName;
            var modelDirectory = CommonOptions.ModelFolder(parse.GetRequiredValue(model));
            using var claim = !Communicators.World.IsRoot ? null
                : RunFolder.Claim(runDirectory, [("--model", modelDirectory)], parse.GetValue(overwrite), writer);
            var observer = CommonOptions.WithTensorBoard(ConsoleTrainingObserver.For(writer), parse.GetValue(tensorBoard), out var events);
            using var eventFile = events;
            var curve = RelearningAttack.Run(modelDirectory, parse.GetRequiredValue(data).FullName, runDirectory, settings,
                prompt.Resolve(parse, modelDirectory), observer);
            writer.WriteLine($"relearned on {curve.TrainedRecords} of {curve.ForgetRecords} forget records for {settings.Steps} steps");
            foreach (var point in curve.Points)
                writer.WriteLine($"step {point.Step}: " + string.Join(", ", point.Metrics.Select(m => $"{m.Key} {m.Value:F4}")));
            var plot = Path.Combine(runDirectory, RecoveryPlot.FileName);
            if (Communicators.World.IsRoot) RecoveryPlot.Save(curve, plot);
            writer.WriteLine($"recovery curve: {Path.Combine(runDirectory, RecoveryCurve.FileName)} and {plot}");
            return CommandRunner.Success;
        });
        return command;
    }
}
