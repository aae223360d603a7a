using System.CommandLine;
using SimNpo.Model.Conversion;

namespace SimNpo.Cli;

/// <summary>`simnpo convert llama2c --checkpoint X.bin --tokenizer tok.bin --out DIR`: other model formats to a Hugging Face directory.</summary>
public static class ConvertCommand
{
    public static Command Create() => new("convert", "Convert a model to a Hugging Face directory (config.json, model.safetensors, tokenizer)") { Llama2C() };

    private static Command Llama2C()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "llama2.c model file (e.g. stories260K.bin)", Required = true };
        var tokenizer = new Option<FileInfo>("--tokenizer") { Description = "llama2.c tokenizer file (e.g. tok512.bin)", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "output model directory", Required = true };
        var command = new Command("llama2c", "Convert a llama2.c checkpoint and tokenizer") { checkpoint, tokenizer, output };
        command.SetAction(parse =>
        {
            var result = Llama2CConverter.Convert(parse.GetRequiredValue(checkpoint).FullName, parse.GetRequiredValue(tokenizer).FullName,
                parse.GetRequiredValue(output).FullName);
            var config = result.Config;
            var writer = parse.InvocationConfiguration.Output;
            writer.WriteLine($"converted: {config.NumHiddenLayers} layers, dim {config.HiddenSize}, {config.NumAttentionHeads} heads "
                             + $"({config.NumKeyValueHeads} kv), vocab {config.VocabSize}, {(config.TieWordEmbeddings ? "tied" : "untied")} embeddings");
            foreach (var file in result.Files) writer.WriteLine($"wrote {file} ({new FileInfo(file).Length:N0} bytes)");
            return CommandRunner.Success;
        });
        return command;
    }
}
