using System.CommandLine;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.SafeTensors;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Methods;
using SimNpo.Unlearn.Training;

namespace SimNpo.Cli;

/// <summary>
/// `simnpo grad`: one forward and backward over every record of a file as one batch, written as safetensors
/// (loss, per-sequence log-probs and lengths, the gradient of every parameter), for checking against other engines.
/// </summary>
public static class GradCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var data = new Option<FileInfo>("--data") { Description = "JSON Lines records (question/answer, or prompt_ids/answer_ids)", Required = true };
        var objective = new Option<string>("--objective") { Description = $"loss to differentiate ({TrainingMethods.Help(TrainingMethods.Grad)})",
            DefaultValueFactory = _ => "nll" }
            .AcceptOnlyFromAmong(TrainingMethods.Names(TrainingMethods.Grad));
        var beta = new Option<double?>("--beta") { Description = CommonOptions.BetaDescription(TrainingMethods.Grad) };
        var gamma = new Option<double>("--gamma") { Description = "SimNPO margin γ (see --gamma-form)", DefaultValueFactory = _ => 0 };
        var gammaForm = CommonOptions.GammaFormOption();
        var referenceModel = CommonOptions.OptionalModel("--ref-model", "reference model for the methods that need one (default: --model itself)");
        var prompt = new CommonOptions.TemplateOptions();
        var device = CommonOptions.Device();
        var recompute = CommonOptions.Recompute();
        var precision = CommonOptions.Precision();
        var output = new Option<FileInfo>("--out") { Description = "output .safetensors file", Required = true };
        var command = new Command("grad", "One forward and backward over all records as one batch; writes loss, seq_logprob, seq_len and grad.<parameter>")
        {
            model, data, objective, beta, gamma, gammaForm, referenceModel, prompt.ChatTemplate, prompt.PromptFormat, prompt.AnswerPrefix, device, precision,
                recompute, output,
        };
        command.SetAction(parse =>
        {
            // β and γ are checked as a training run checks them, before any file is read.
            var checkedOptions = new TrainingSettings { Method = parse.GetRequiredValue(objective), Beta = parse.GetValue(beta),
                Gamma = parse.GetRequiredValue(gamma) };
            if (checkedOptions.Problem() is { } problem) throw new UsageException(problem);
            var ops = Devices.Create(parse.GetRequiredValue(device));
            var storage = CommonOptions.Precision(parse, precision, ops);
            var modelDirectory = CommonOptions.ModelFolder(parse.GetRequiredValue(model));
            using var llama = ModelFiles.Load(modelDirectory, ops, storage);
            llama.Recompute = RecomputeNames.Parse(parse.GetRequiredValue(recompute));
            var batch = TokenBatch.FromExamples(ExampleFiles.Load(parse.GetRequiredValue(data).FullName, modelDirectory, llama.Config,
                prompt.Resolve(parse, modelDirectory)));
            var method = TrainingMethods.Get(parse.GetRequiredValue(objective));
            double[]? referenceLogProbs = null;
            if (method.NeedsReferenceLogProbs)
            {
                var referenceDirectory = CommonOptions.ModelFolder(parse.GetValue(referenceModel)) ?? modelDirectory;
                using var reference = ModelFiles.Load(referenceDirectory, ops, storage);
                referenceLogProbs = reference.Forward(batch).Scores.LogProb;
            }
            var loss = method.Objective(parse.GetValue(beta), parse.GetRequiredValue(gamma), referenceLogProbs, parse.GetRequiredValue(gammaForm));
            var pass = llama.Forward(batch);
            var scores = pass.Scores;
            var value = loss.Evaluate(scores);
            llama.ZeroGradients();
            pass.Backward(value.SequenceWeights);

            var tensors = new List<TensorToWrite>
            {
                new TensorToWrite("loss", [1], new[] { (float)value.Loss }),
                new TensorToWrite("seq_logprob", [scores.Count], scores.LogProb.Select(x => (float)x).ToArray()),
                new TensorToWrite("seq_len", [scores.Count], scores.Length.Select(x => (float)x).ToArray()),
            };
            foreach (var entry in llama.Layout.Entries)
                tensors.Add(ParameterTensors.ToWrite("grad." + entry.Name, entry, llama.Gradient(entry), SafeTensorsDType.F32));
            var path = parse.GetRequiredValue(output).FullName;
            SafeTensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["objective"] = loss.Name, ["device"] = ops.Name });
            var console = parse.InvocationConfiguration.Output;
            console.WriteLine($"{loss.Name} loss {value.Loss:G9} over {scores.Count} sequences, {scores.TotalLength} scored tokens ({ops.Name}), weights and "
                + $"activations in {storage.Name}");
            console.WriteLine($"wrote {path}");
            return 0;
        });
        return command;
    }
}
