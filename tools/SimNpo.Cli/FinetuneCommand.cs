using System.CommandLine;
using System.Text.Json.Nodes;
using SimNpo.Model;

namespace SimNpo.Cli;

/// <summary>
/// `simnpo finetune`: plain NLL training of a model on a data set, to build target and retain models, to relearn, or
/// from scratch (--init random with a model config) so the project can make its own small models.
/// </summary>
public static class FinetuneCommand
{
    public static Command Create()
    {
        var model = CommonOptions.OptionalModel("--model", "model to fine-tune (Hugging Face layout directory)");
        var data = new Option<string?>("--data") { Description = "training set, JSON Lines" };
        var output = new Option<string?>("--out") { Description = "output folder: the trained model, run.json, log.jsonl, checkpoints/" };
        var init = new Option<string>("--init") { Description = "'model' to start from --model, 'random' to start from seeded random weights",
            DefaultValueFactory = _ => "model" }
            .AcceptOnlyFromAmong("model", "random");
        var modelConfig = new Option<string?>("--model-config") { Description = "--init random: the model's config.json (a Hugging Face Llama config)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "folder with the tokenizer files (default: --model)" };
        var initStd = new Option<double>("--init-std") { Description = "--init random: standard deviation of the weights", DefaultValueFactory = _ => 0.02 };
        var options = new TrainingOptions();
        var command = new Command("finetune", "Train a model with token-mean NLL on a data set (also from random weights)") { model, data, output, init,
            modelConfig, tokenizer, initStd };
        options.AddTo(command, unlearning: false);
        command.Options.Add(CommonOptions.TensorBoard());
        command.SetAction(parse =>
        {
            // `--init random --config config.json` with a Hugging Face config means the model's config, not run options.
            var modelConfigFromConfig = parse.GetValue(init) == "random" && parse.GetValue(modelConfig) is null && parse.GetValue(options.Config) is { } file
                && TrainingOptions.IsModelConfig(file.FullName) ? file.FullName : null;
            var config = modelConfigFromConfig is null ? options.ConfigFile(parse, command) : [];
            var configPath = options.ConfigPath(parse);
            string? Get(Option<string?> option) => options.PathValue(parse, option, config);
            string Required(Option<string?> option) => options.RequiredPath(parse, option, config);
            var settings = options.Resolve(parse, config, unlearning: false);
            var random = TrainingOptions.Value(parse, init, config, configPath) == "random";
            var modelDirectory = random ? null : CommonOptions.ModelFolder(options.RequiredValue(parse, model, config));
            var modelConfigPath = random ? modelConfigFromConfig ?? Required(modelConfig) : null;
            var dataPath = Required(data);
            var tokenizerDirectory = Get(tokenizer);
            var std = TrainingOptions.Value(parse, initStd, config, configPath);
            var inputs = new JsonObject
            {
                ["model"] = modelDirectory, ["data"] = dataPath, ["init"] = random ? "random" : "model", ["model-config"] = modelConfigPath,
                ["tokenizer"] = tokenizerDirectory, ["init-std"] = std,
            };
            var paths = new RunPaths(modelDirectory, dataPath, null, null, Required(output), tokenizerDirectory ?? modelDirectory, inputs);
            LlamaConfig ModelConfig() => modelDirectory is not null ? ModelFiles.LoadConfig(modelDirectory) : LlamaConfig.Load(modelConfigPath!);
            var template = options.Template(parse, config, ModelConfig, paths.TokenizerSource);
            options.CheckMemory(parse, config, settings, ModelConfig());
            return TrainingRun.Execute(parse, settings, paths, (parse.GetValue(options.Resume), parse.GetValue(options.Overwrite)), template,
                options.DataParallelOf(parse, config),
                (ops, precision) =>
            {
                if (modelDirectory is not null) return ModelFiles.Load(modelDirectory, ops, precision, masterWeights: true);
                var fresh = new LlamaModel<float>(LlamaConfig.Load(modelConfigPath!), ops, precision);
                ModelInitializer.Randomize(fresh, settings.Seed, std);
                return fresh;
            });
        });
        return command;
    }
}
