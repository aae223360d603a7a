using System.CommandLine;
using System.Text.Json.Nodes;
using SimNpo.Model;
using SimNpo.Unlearn.Methods;

namespace SimNpo.Cli;

/// <summary>`simnpo unlearn`: a model, a forget set and a retain set in; an unlearned model out.</summary>
public static class UnlearnCommand
{
    public static Command Create()
    {
        var model = CommonOptions.OptionalModel("--model", "model to unlearn (Hugging Face layout directory)");
        var forget = new Option<string?>("--forget")
            { Description = "forget set, JSON Lines, or plain text (.txt, e.g. MUSE's raw/forget.txt) cut into --max-length chunks" };
        var retain = new Option<string?>("--retain") { Description = "retain set, JSON Lines (needed unless --retain-weight 0 or --method "
            + $"{TrainingMethods.NameList(TrainingMethods.Unlearning.Where(m => !m.HasRetainTerm))})" };
        var refusals = new Option<string?>("--refusals")
            { Description = $"{TrainingMethods.NameList(TrainingMethods.Unlearning.Where(m => m.NeedsRefusals))}: \"I don't know\" answers, one per line" };
        var output = new Option<string?>("--out") { Description = "output folder: the unlearned model, run.json, log.jsonl, checkpoints/" };
        var options = new TrainingOptions();
        var command = new Command("unlearn", $"Unlearn a forget set with {TrainingMethods.NameList(TrainingMethods.Unlearning)}, keeping a retain set") { model,
            forget, retain, refusals, output };
        options.AddTo(command, unlearning: true);
        command.Options.Add(CommonOptions.TensorBoard());
        command.SetAction(parse =>
        {
            var config = options.ConfigFile(parse, command);
            string? Get(Option<string?> option) => options.PathValue(parse, option, config);
            string Required(Option<string?> option) => options.RequiredPath(parse, option, config);
            var modelDirectory = CommonOptions.ModelFolder(options.RequiredValue(parse, model, config));
            var settings = options.Resolve(parse, config, unlearning: true);
            var forgetPath = Required(forget);
            var (retainPath, refusalsPath) = (Get(retain), Get(refusals));
            var inputs = new JsonObject { ["model"] = modelDirectory, ["forget"] = forgetPath, ["retain"] = retainPath, ["refusals"] = refusalsPath };
            var paths = new RunPaths(modelDirectory, forgetPath, retainPath, refusalsPath, Required(output), modelDirectory, inputs);
            var template = options.Template(parse, config, () => ModelFiles.LoadConfig(modelDirectory), modelDirectory);
            options.CheckMemory(parse, config, settings, ModelFiles.LoadConfig(modelDirectory));
            return TrainingRun.Execute(parse, settings, paths, (parse.GetValue(options.Resume), parse.GetValue(options.Overwrite)), template,
                options.DataParallelOf(parse, config),
                (ops, precision) => ModelFiles.Load(modelDirectory, ops, precision, masterWeights: true));
        });
        return command;
    }
}
