using System.CommandLine;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Data;

namespace SimNpo.Cli;

/// <summary>Options several commands share, defined once so their names, defaults and help agree everywhere.</summary>
public static class CommonOptions
{
    public static Option<DirectoryInfo> Model(string description = "model directory (Hugging Face layout: config.json, model.safetensors, tokenizer)") =>
        new("--model") { Description = description, Required = true };

    public static Option<string> Device() =>
        new Option<string>("--device") { Description = $"where to run: {string.Join(", ", Devices.Names)}", DefaultValueFactory = _ => Devices.Default }
            .AcceptOnlyFromAmong(Devices.Names);

    public static Option<string> PromptFormat() =>
        new("--prompt-format") { Description = "how a question becomes the prompt; {question} is replaced", DefaultValueFactory = _ => PromptTemplate.Llama2Chat.PromptFormat };

    public static Option<string> AnswerPrefix() =>
        new("--answer-prefix") { Description = "text between the prompt and the answer", DefaultValueFactory = _ => PromptTemplate.Llama2Chat.AnswerPrefix };

    /// <summary>The template the two options above describe; a format without {question} is a usage error.</summary>
    public static PromptTemplate Template(ParseResult parse, Option<string> promptFormat, Option<string> answerPrefix) =>
        Template(parse.GetRequiredValue(promptFormat), parse.GetRequiredValue(answerPrefix));

    public static PromptTemplate Template(string promptFormat, string answerPrefix)
    {
        try
        {
            return new PromptTemplate(promptFormat, answerPrefix);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    /// <summary>--precision: how the model stores weights, activations and gradients (every computation stays float32).</summary>
    public static Option<string> Precision() =>
        new Option<string>("--precision") { Description = "storage of weights, activations and gradients: fp32, or bf16 (float32 arithmetic, float32 master weights when training)", DefaultValueFactory = _ => Kernels.Precision.Fp32.Name }
            .AcceptOnlyFromAmong(Kernels.Precision.All.Select(p => p.Name).ToArray());

    /// <summary>The precision the option names, refused before any weights load when the device cannot store it.</summary>
    public static Kernels.Precision Precision(ParseResult parse, Option<string> option, Kernels.IOps<float> ops)
    {
        var precision = Kernels.Precision.Parse(parse.GetRequiredValue(option));
        if (!ops.Supports(precision.Bulk)) throw new UsageException($"--precision {precision.Name} is not available on the {ops.Name} device");
        return precision;
    }

    public static Option<int> Seed() => new("--seed") { Description = "random seed", DefaultValueFactory = _ => 0 };
}
