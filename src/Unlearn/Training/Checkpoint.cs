using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Model;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// A resumable point of a run: checkpoints/step-NNNNNN/ holds the model in the Hugging Face layout (config.json,
/// model.safetensors, tokenizer files), optimizer.safetensors and trainer_state.json. Written into a temporary folder
/// and renamed when complete, so a killed run never leaves a half checkpoint that looks whole.
/// </summary>
public static class Checkpoint
{
    public const string FolderName = "checkpoints";
    public const string StateFileName = "trainer_state.json";
    private const string Prefix = "step-";
    private const int Kept = 2;

    public static string Save<T>(string runDirectory, int step, LlamaModel<T> model, AdamWOptimizer<T> optimizer, TrainingSettings settings, string? tokenizerSource)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var root = Path.Combine(runDirectory, FolderName);
        var final = Path.Combine(root, $"{Prefix}{step:D6}");
        var temporary = Path.Combine(root, $".{Prefix}{step:D6}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temporary);
        try
        {
            ModelFiles.Save(model, temporary, tokenizerSource);
            optimizer.Save(Path.Combine(temporary, AdamWOptimizer<T>.FileName));
            var state = new JsonObject { ["step"] = step, ["settings"] = JsonNode.Parse(settings.ToJson()) };
            AtomicFile.WriteAllText(Path.Combine(temporary, StateFileName), state.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(temporary, final);
        }
        catch
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            throw;
        }
        foreach (var old in Complete(runDirectory).SkipLast(Kept)) Directory.Delete(old, recursive: true);
        return final;
    }

    /// <summary>The newest complete checkpoint of a run, or null when it has none.</summary>
    public static string? Latest(string runDirectory) => Complete(runDirectory).LastOrDefault();

    private static IEnumerable<string> Complete(string runDirectory)
    {
        var root = Path.Combine(runDirectory, FolderName);
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root, Prefix + "*")
            .Where(directory => File.Exists(Path.Combine(directory, StateFileName)))
            .Order(StringComparer.Ordinal);
    }

    /// <summary>
    /// The checkpoint's step, if it was made with these settings; otherwise a refusal naming the saved ones. Cheap (one
    /// small JSON file), so a command can call it before any weights load.
    /// </summary>
    public static int RefuseOtherSettings(string checkpoint, TrainingSettings settings)
    {
        var statePath = Path.Combine(checkpoint, StateFileName);
        var state = JsonFile.ReadObject(statePath);
        if (state["step"] is not JsonValue stepValue || !stepValue.TryGetValue<int>(out var step) || step < 1)
            throw new BadInputException(statePath, "missing or invalid 'step'");
        var saved = state["settings"]?.ToJsonString();
        var current = JsonNode.Parse(settings.ToJson())!.ToJsonString();
        if (saved != current)
            throw new BadInputException(statePath, $"the checkpoint was made with other settings; resume with the same ones (saved: {saved})");
        return step;
    }

    /// <summary>
    /// Loads a checkpoint into the model and optimizer and returns its step. Refuses one made with other settings
    /// (the batches and schedule would differ) and any damaged file, naming it.
    /// </summary>
    public static int Load<T>(string checkpoint, LlamaModel<T> model, AdamWOptimizer<T> optimizer, TrainingSettings settings)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var step = RefuseOtherSettings(checkpoint, settings);
        ModelFiles.LoadWeights(model, checkpoint);
        optimizer.Load(Path.Combine(checkpoint, AdamWOptimizer<T>.FileName));
        if (optimizer.StepCount != step)
            throw new BadInputException(Path.Combine(checkpoint, AdamWOptimizer<T>.FileName), $"optimizer step {optimizer.StepCount.ToString(CultureInfo.InvariantCulture)} differs from the checkpoint's step {step}");
        return step;
    }
}
