using System.CommandLine;
using SimNpo.Model;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Methods;
using SimNpo.Unlearn.Training;

namespace SimNpo.Cli;

/// <summary>
/// `simnpo tofu`: the whole TOFU protocol in one command (fine-tune target and retain models, unlearn with each method,
/// evaluate all of them) and the table the paper prints.
/// </summary>
public static class TofuCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model("base model that the target and retain models are fine-tuned from");
        var forget = new Option<string>("--forget") { Description = "forget set (the retain model is trained on the matching retainXX)",
            DefaultValueFactory = _ => "forget10" }
            .AcceptOnlyFromAmong("forget01", "forget05", "forget10");
        var methods = new Option<string?>("--methods") { Description = "comma-separated unlearning methods to compare (overrides --method; each "
            + "takes the tofu-<forget> preset's settings where it has them, unless --preset says otherwise): "
            + $"{TrainingMethods.NameList(TrainingMethods.Unlearning.Where(m => !m.NeedsRefusals))}" };
        var targetModel = CommonOptions.OptionalModel("--target-model", "model already fine-tuned on full: used instead of training one");
        var retainModel = CommonOptions.OptionalModel("--retain-model", "model already fine-tuned on retainXX: used instead of training one");
        var dataDirectory = CommonOptions.TofuData();
        var maxItems = new Option<int>("--max-items") { Description = "first rows of each evaluation split (TOFU: 300)",
            DefaultValueFactory = _ => TofuSettings.DefaultMaxItems };
        var evalMaxLength = new Option<int>("--eval-max-length")
            { Description = "longest scored sequence and prompt plus generated answer in the evaluation (TOFU: 200)",
            DefaultValueFactory = _ => TofuSettings.DefaultMaxLength };
        var maxNewTokens = new Option<int?>("--max-new-tokens") { Description = "cap on generated answer tokens in the evaluation" };
        var finetuneEpochs = new Option<int>("--finetune-epochs") { Description = "epochs of fine-tuning for the target and retain models (TOFU: 5)",
            DefaultValueFactory = _ => 5 };
        var finetuneLr = new Option<double>("--finetune-lr") { Description = "peak learning rate of that fine-tuning", DefaultValueFactory = _ => 1e-5 };
        var output = new Option<DirectoryInfo>("--out") { Description = "run folder: trained models, eval/, plots/, report.json and report.md",
            Required = true };
        var options = new TrainingOptions();
        var command = new Command("tofu",
            "The TOFU protocol: fine-tune target and retain models, unlearn with each method, evaluate them all, print the paper's table")
        {
            model, forget, methods, targetModel, retainModel, dataDirectory, maxItems, evalMaxLength, maxNewTokens, finetuneEpochs, finetuneLr, output,
        };
        options.AddTo(command, unlearning: true);
        command.Options.Add(CommonOptions.TensorBoard());
        // Finished models are always reused and unfinished runs always resumed, so there is nothing to ask for.
        // The protocol resumes and caches by itself and claims no run folder: neither flag would mean anything here.
        command.Options.Remove(options.Resume);
        command.Options.Remove(options.Overwrite);
        foreach (var option in options.DataParallel) command.Options.Remove(option);
        command.SetAction(parse =>
        {
            var config = options.ConfigFile(parse, command);
            // The preset's values are each method's own; the fine-tuning and the shared settings start from no preset.
            var unlearning = options.Resolve(parse, config, unlearning: true, defaultPreset: TrainingOptions.NoPreset);
            var chosen = parse.GetValue(methods)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [unlearning.Method];
            if (chosen.FirstOrDefault(m => !TrainingMethods.Names(TrainingMethods.Unlearning).Contains(m)) is { } unknown)
                throw new UsageException($"--methods: '{unknown}' is not one of {TrainingMethods.NameList(TrainingMethods.Unlearning)}");
            if (chosen.Select(TrainingMethods.Get).FirstOrDefault(m => m.NeedsRefusals) is { } refusing)
                throw new UsageException(
                    $"{refusing.Name} needs refusal answers, which the protocol does not take; run `simnpo unlearn --method {refusing.Name}` instead");
            if (parse.GetValue(maxItems) < 1 || parse.GetValue(evalMaxLength) < 2 || parse.GetValue(maxNewTokens) < 1 || parse.GetValue(finetuneEpochs) < 1)
                throw new UsageException("--max-items, --max-new-tokens and --finetune-epochs must be at least 1, --eval-max-length at least 2");
            var defaultPreset = $"tofu-{parse.GetRequiredValue(forget)}";
            var perMethod = chosen.Distinct().ToDictionary(m => m, m => options.Resolve(parse, config, unlearning: true, m, defaultPreset));
            var baseModel = CommonOptions.ModelFolder(parse.GetRequiredValue(model));
            var modelConfig = ModelFiles.LoadConfig(baseModel);
            var template = options.Template(parse, config, () => modelConfig, baseModel);
            foreach (var methodSettings in perMethod.Values) options.CheckMemory(parse, config, methodSettings, modelConfig);
            var settings = new TofuProtocolSettings
            {
                BaseModel = baseModel,
                TargetModel = CommonOptions.ModelFolder(parse.GetValue(targetModel)),
                RetainModel = CommonOptions.ModelFolder(parse.GetValue(retainModel)),
                Methods = chosen.Distinct().ToArray(),
                Unlearning = unlearning,
                MethodSettings = perMethod,
                Finetune = unlearning with
                {
                    Method = new NllMethod().Name, Preset = null, Beta = null, RetainWeight = 0, EvalEvery = 0,
                    Epochs = parse.GetValue(finetuneEpochs), LearningRate = parse.GetValue(finetuneLr),
                },
                Evaluation = new TofuSettings
                {
                    DataDirectory = CommonOptions.TofuFolder(parse.GetRequiredValue(dataDirectory),
                        Unlearn.Evaluation.TofuDataFiles.ProtocolSplits(parse.GetRequiredValue(forget))),
                    ForgetSet = parse.GetRequiredValue(forget),
                    MaxItems = parse.GetValue(maxItems),
                    MaxLength = parse.GetValue(evalMaxLength),
                    MaxNewTokens = parse.GetValue(maxNewTokens),
                    Template = template,
                    Precision = unlearning.Precision,
                },
                OutputDirectory = parse.GetRequiredValue(output).FullName,
                TensorBoardDirectory = parse.GetValue<string?>(CommonOptions.TensorBoardName) is { } board ? Path.GetFullPath(board) : null,
            };
            var writer = parse.InvocationConfiguration.Output;
            var report = new TofuProtocol(settings, ConsoleTrainingObserver.For(writer)).Run();
            writer.WriteLine();
            writer.Write(report.Table());
            writer.WriteLine();
            writer.WriteLine($"report: {Path.Combine(settings.OutputDirectory, TofuProtocolReport.FileName)} and report.md; plots in "
                + $"{Path.Combine(settings.OutputDirectory, "plots")}");
            return CommandRunner.Success;
        });
        return command;
    }
}
