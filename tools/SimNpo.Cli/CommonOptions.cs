using System.CommandLine;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Reports.TensorBoard;
using SimNpo.Unlearn.Training;

namespace SimNpo.Cli;

/// <summary>Options several commands share, defined once so their names, defaults and help agree everywhere.</summary>
public static partial class CommonOptions
{
    public const string ModelDescription = "model directory (Hugging Face layout: config.json, model.safetensors, tokenizer)";

    /// <summary>A model option: a local folder, or a Hub id `org/name[@revision]` (fetched into the Hugging Face cache).</summary>
    public static Option<string> Model(string description = ModelDescription) =>
        new("--model") { Description = description + HubModelNote, Required = true };

    public static Option<string> Device() =>
        new Option<string>("--device") { Description = $"where to run: {string.Join(", ", Devices.Names)}", DefaultValueFactory = _ => Devices.Default }
            .AcceptOnlyFromAmong(Devices.Names);

    public static Option<string> Precision() =>
        new Option<string>("--precision")
        {
            Description = "how weights, activations and gradients are stored (compute is float32): auto is bf16 on a GPU, fp32 on the CPU",
            DefaultValueFactory = _ => "auto",
        }.AcceptOnlyFromAmong(Devices.PrecisionNames);

    /// <summary>The precision an option names on this device; one the device cannot run is a usage error (before any weights load).</summary>
    public static SimNpo.Kernels.Precision Precision(ParseResult parse, Option<string> precision, SimNpo.Kernels.IOps<float> ops) =>
        ResolvePrecision(parse.GetRequiredValue(precision), ops);

    /// <summary>A --precision value (from the command line or a config file) on this device, or a usage error.</summary>
    public static SimNpo.Kernels.Precision ResolvePrecision(string name, SimNpo.Kernels.IOps<float> ops)
    {
        try
        {
            return Devices.ResolvePrecision(name, ops);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    public static Option<string?> ChatTemplate() =>
        new Option<string?>("--chat-template")
        {
            Description = $"chat template around each question and answer: {string.Join(", ", ChatTemplates.Names)} (default: the model family's, "
                + "from config.json's architecture: llama2, or llama3 when the tokenizer has <|begin_of_text|>, for Llama; zephyr for Mistral; "
                + "chatml for Qwen2; phi for Phi; gemma for Gemma)",
        }.AcceptOnlyFromAmong([.. ChatTemplates.Names]);

    public static Option<string?> PromptFormat() =>
        new("--prompt-format") { Description = "how a question becomes the prompt, {question} replaced (default: the chat template's)" };

    public static Option<string?> AnswerPrefix() =>
        new("--answer-prefix") { Description = "text between the prompt and the answer (default: the chat template's)" };

    /// <summary>The three options of a prompt, made together for a command.</summary>
    public sealed record TemplateOptions(Option<string?> ChatTemplate, Option<string?> PromptFormat, Option<string?> AnswerPrefix)
    {
        public TemplateOptions() : this(CommonOptions.ChatTemplate(), CommonOptions.PromptFormat(), CommonOptions.AnswerPrefix())
        {
        }

        /// <summary>The template the options name for the model in modelDirectory (its config and tokenizer).</summary>
        public PromptTemplate Resolve(ParseResult parse, string modelDirectory) =>
            Template(parse.GetValue(ChatTemplate), parse.GetValue(PromptFormat), parse.GetValue(AnswerPrefix), () => Directory.Exists(modelDirectory)
                ? ModelFiles.LoadConfig(modelDirectory) : throw new BadInputException(modelDirectory, "model directory not found"), modelDirectory);
    }

    /// <summary>
    /// The named chat template (default: the model's), its text replaced by a given format or prefix; a format without
    /// {question} is a usage error. The tokenizer directory is read only to tell Llama 3 from Llama 2.
    /// </summary>
    public static PromptTemplate Template(string? chatTemplate, string? promptFormat, string? answerPrefix, Func<LlamaConfig> config,
        string? tokenizerDirectory)
    {
        try
        {
            // The format is checked before the model's files are read: a mistake in it is a usage error wherever the model is.
            if (promptFormat is not null) _ = new PromptTemplate(promptFormat, "");
            return ChatTemplates.Resolve(chatTemplate, config(), tokenizerDirectory).WithText(promptFormat, answerPrefix);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    /// <summary>The one way past RunFolder's refusal of a non-empty output folder that is not a run.</summary>
    public static Option<bool> Overwrite() =>
        new("--overwrite") { Description = "write into a non-empty --out that holds no run of simnpo (its files may be replaced)" };

    public const string AllowNonFiniteName = "--allow-nonfinite";

    /// <summary>Every command's: load weights holding NaN or infinity instead of refusing them (to inspect a broken model).</summary>
    public static Option<bool> AllowNonFinite() =>
        new(AllowNonFiniteName) { Description = "load model weights that hold NaN or infinite values instead of refusing them", Recursive = true };

    public const string TensorBoardName = "--tensorboard";

    /// <summary>unlearn, finetune and relearn: each step's losses, gradient norm, learning rate and evaluations as TensorBoard scalars.</summary>
    public static Option<string?> TensorBoard() =>
        new(TensorBoardName) { Description = "write TensorBoard event files (losses, gradient norm, learning rate, log-probs, evaluations) into this folder" };

    /// <summary>The observer a run reports to: the console's, and with --tensorboard DIR an event file in DIR as well (null: none).</summary>
    public static ITrainingObserver WithTensorBoard(ITrainingObserver console, string? directory, out EventFileWriter? events)
    {
        // Under several ranks only rank 0 writes, as with every other file of a run.
        events = directory is null || !Communicators.World.IsRoot ? null : new EventFileWriter(Path.GetFullPath(directory));
        return events is null ? console : new TensorBoardObserver(console, events);
    }

    public const string QuietName = "--quiet";

    /// <summary>Every command's: no progress bars or progress lines (stderr keeps warnings and errors).</summary>
    public static Option<bool> Quiet() =>
        new(QuietName) { Description = "show no progress bars or progress lines", Recursive = true };

    public static Option<int> Seed() => new("--seed") { Description = "random seed", DefaultValueFactory = _ => 0 };
}
