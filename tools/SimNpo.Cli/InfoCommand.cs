using System.CommandLine;
using SimNpo.Model;

namespace SimNpo.Cli;

/// <summary>`simnpo info --model DIR`: what a model is and what it takes to unlearn it.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "model directory (config.json, model.safetensors)", Required = true };
        var command = new Command("info", "Describe a model: architecture, parameter count, dtype, memory to unlearn it") { model };
        command.SetAction(parse =>
        {
            var directory = parse.GetRequiredValue(model).FullName;
            var config = LlamaConfig.Load(Path.Combine(directory, "config.json"));
            var layout = new ParameterLayout(config);
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"model:        {directory}");
            output.WriteLine($"architecture: {config.Architecture}");
            output.WriteLine($"layers:       {config.NumHiddenLayers}");
            output.WriteLine($"dim:          {config.HiddenSize}");
            output.WriteLine($"heads:        {config.NumAttentionHeads}");
            output.WriteLine($"kv heads:     {config.NumKeyValueHeads}");
            output.WriteLine($"head dim:     {config.HeadDim}");
            output.WriteLine($"ffn dim:      {config.IntermediateSize}");
            output.WriteLine($"vocab:        {config.VocabSize}");
            output.WriteLine($"tied:         {config.TieWordEmbeddings}");
            output.WriteLine($"parameters:   {layout.TotalLength:N0}");
            return 0;
        });
        return command;
    }
}
