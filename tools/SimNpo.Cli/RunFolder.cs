using SimNpo.Unlearn.Training;

namespace SimNpo.Cli;

/// <summary>
/// The --out folder of unlearn, finetune and relearn, claimed before anything is loaded: never an input (the model, a
/// folder inside it or around it; links and relative paths resolved), never a non-empty folder that holds no run of
/// simnpo unless --overwrite is given, and locked for the whole run so that a second run on it stops at once.
/// </summary>
public static class RunFolder
{
    /// <summary>What a run of this tool leaves in its folder from its first moments on.</summary>
    private static readonly string[] RunMarkers = [Trainer<float>.RunSettingsFileName, Trainer<float>.LogFileName, Checkpoint.FolderName, RunLock.FileName];

    public static RunLock Claim(string output, IEnumerable<(string Option, string? Path)> inputs, bool overwrite, TextWriter writer)
    {
        var target = RealPath.Of(output);
        foreach (var (option, path) in inputs)
        {
            if (path is null) continue;
            var input = RealPath.Of(path);
            var relation = RealPath.Same(target, input) ? "is" : RealPath.IsInside(target, input) ? "lies inside" : RealPath.IsInside(input, target) ? "holds"
                : null;
            if (relation is not null)
                throw new UsageException($"--out {output}{Resolved(output, target)} {relation} the input {option} {path}{Resolved(path, input)}; the run would "
                    + "overwrite its files: choose another output folder");
        }
        if (!overwrite && Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any()
            && !RunMarkers.Any(name => Path.Exists(Path.Combine(output, name))))
            throw new UsageException(
                $"--out {output} is not empty and holds no run of simnpo (no {Trainer<float>.RunSettingsFileName} or {Trainer<float>.LogFileName}); " +
                "its files would be replaced: choose a new or empty folder, or pass --overwrite to write into it anyway");
        return RunLock.Acquire(output, writer.WriteLine);
    }

    private static string Resolved(string given, string resolved)
        => RealPath.Same(Path.TrimEndingDirectorySeparator(Path.GetFullPath(given)), resolved) ? "" : $" (that is {resolved})";
}
