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

    /// <param name="writes">
    /// False on the ranks of a data-parallel group other than the root: they take part in the gathers of a sharded
    /// optimizer (<see cref="IParameterOptimizer{T}.Save"/>) and write nothing.
    /// </param>
    public static string Save<T>(string runDirectory, int step, LlamaModel<T> model, IParameterOptimizer<T> optimizer, TrainingSettings settings,
        string? tokenizerSource, bool writes = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var root = Path.Combine(runDirectory, FolderName);
        var final = Path.Combine(root, $"{Prefix}{step:D6}");
        // Collective under ZeRO stage 1: every rank sends its slices of the master weights and optimizer state, the root writes.
        using var gathered = optimizer.GatherWeightsToSave();
        if (!writes)
        {
            if (optimizer.IsSharded) optimizer.Save(Path.Combine(final, AdamWOptimizer<T>.FileName));
            return final;
        }
        var temporary = Path.Combine(root, $".{Prefix}{step:D6}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temporary);
        try
        {
            ModelFiles.Save(model, temporary, tokenizerSource, weights: gathered);
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
    /// Removes the temporary folders (.step-N.tmp-*) that a run killed while writing a checkpoint leaves behind. Only a
    /// run that holds the folder's lock may call it: another run's checkpoint in the making looks the same.
    /// </summary>
    public static IReadOnlyList<string> RemoveTemporaries(string runDirectory)
    {
        var root = Path.Combine(runDirectory, FolderName);
        if (!Directory.Exists(root)) return [];
        var stale = Directory.GetDirectories(root, $".{Prefix}*.tmp-*").Order(StringComparer.Ordinal).ToArray();
        foreach (var directory in stale) Directory.Delete(directory, recursive: true);
        return stale;
    }

    /// <summary>
    /// Loads the newest checkpoint that loads whole and returns it with its step, or null when the run has none. A
    /// damaged newest one (a disk error, a file cut short) gives way to the older kept one, with a warning naming both;
    /// when that fails too, the newest one's error stands.
    /// </summary>
    public static (string Path, int Step)? LoadNewest<T>(string runDirectory, LlamaModel<T> model, IParameterOptimizer<T> optimizer, TrainingSettings settings,
        Action<string> warn)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var newestFirst = Complete(runDirectory).Reverse().ToArray();
        if (newestFirst.Length == 0) return null;
        try
        {
            return (newestFirst[0], Load(newestFirst[0], model, optimizer, settings));
        }
        catch (BadInputException damaged) when (newestFirst.Length > 1)
        {
            int step;
            try
            {
                step = Load(newestFirst[1], model, optimizer, settings);
            }
            catch (BadInputException)
            {
                throw damaged;
            }
            warn($"warning: the newest checkpoint {newestFirst[0]} is damaged ({damaged.Message}); resuming from the older {newestFirst[1]} instead");
            return (newestFirst[1], step);
        }
    }

    /// <summary>
    /// Refuses a resume with other settings (a recompute setting among them) before any weights load: reads the newest
    /// checkpoint whose state file reads (a damaged one is left to LoadNewest, which falls back past it). Cheap: one
    /// small JSON file.
    /// </summary>
    public static void RefuseOtherSettings(string runDirectory, TrainingSettings settings)
    {
        foreach (var checkpoint in Complete(runDirectory).Reverse())
        {
            JsonObject state;
            try
            {
                state = JsonFile.ReadObject(Path.Combine(checkpoint, StateFileName));
            }
            catch (BadInputException)
            {
                continue;
            }
            RefuseOtherSettings(Path.Combine(checkpoint, StateFileName), state, settings);
            return;
        }
    }

    /// <summary>The checkpoint's step, if it was made with these settings; otherwise a refusal naming the saved ones.</summary>
    private static int RefuseOtherSettings(string statePath, JsonObject state, TrainingSettings settings)
    {
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
    public static int Load<T>(string checkpoint, LlamaModel<T> model, IParameterOptimizer<T> optimizer, TrainingSettings settings)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var statePath = Path.Combine(checkpoint, StateFileName);
        var step = RefuseOtherSettings(statePath, JsonFile.ReadObject(statePath), settings);
        ModelFiles.LoadWeights(model, checkpoint);
        optimizer.Load(Path.Combine(checkpoint, AdamWOptimizer<T>.FileName));
        if (optimizer.StepCount != step)
            throw new BadInputException(Path.Combine(checkpoint, AdamWOptimizer<T>.FileName),
                $"optimizer step {optimizer.StepCount.ToString(CultureInfo.InvariantCulture)} differs from the checkpoint's step {step}");
        return step;
    }
}
