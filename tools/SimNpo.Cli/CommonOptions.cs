using System.CommandLine;
using SimNpo.Unlearn;

namespace SimNpo.Cli;

/// <summary>Options several commands share, defined once so their names, defaults and help agree everywhere.</summary>
public static class CommonOptions
{
    public static Option<DirectoryInfo> Model(string description = "model directory (Hugging Face layout: config.json, model.safetensors, tokenizer)") =>
        new("--model") { Description = description, Required = true };

    public static Option<string> Device() =>
        new Option<string>("--device") { Description = $"where to run: {string.Join(", ", Devices.Names)}", DefaultValueFactory = _ => Devices.Default }
            .AcceptOnlyFromAmong(Devices.Names);

    public static Option<int> Seed() => new("--seed") { Description = "random seed", DefaultValueFactory = _ => 0 };
}
