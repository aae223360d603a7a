using System.CommandLine;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Hub;

namespace SimNpo.Cli;

/// <summary>Options whose value is a local folder or a Hugging Face Hub id: an existing folder wins, anything of the form org/name[@revision] else is fetched into the cache.</summary>
public static partial class CommonOptions
{
    /// <summary>What every model option's help adds: the other form its value may take.</summary>
    public const string HubModelNote = ", or a Hub model id org/name[@revision]";

    /// <summary>An optional model option of the same two forms.</summary>
    public static Option<string?> OptionalModel(string name, string description) => new(name) { Description = description + HubModelNote };

    /// <summary>The folder a model value names (a Hub id is fetched into the cache first); null stays null.</summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(value))]
    public static string? ModelFolder(string? value) => value is null ? null : RootFirst(() => HubModels.Resolve(value));

    /// <summary>TOFU's files: a folder, or a Hub data set (locuslab/TOFU by default) read from the cache and downloaded when needed.</summary>
    public static Option<string> TofuData() =>
        new("--data-dir")
        {
            Description = $"folder of the TOFU files ({{split}}.jsonl or .json), or a Hub data set id (default {HubDatasets.Tofu}, fetched into the Hugging Face cache)",
            DefaultValueFactory = _ => HubDatasets.Tofu,
        };

    /// <summary>The TOFU folder holding these splits (a Hub data set's snapshot, fetched when needed).</summary>
    public static string TofuFolder(string value, IEnumerable<string> splits) => RootFirst(() => HubDatasets.ResolveTofu(value, splits));

    /// <summary>MUSE's files: a folder, or a Hub data set (muse-bench/MUSE-News by default) read from its Parquet files.</summary>
    public static Option<string> MuseData(string layouts) =>
        new("--data")
        {
            Description = $"{layouts}; or a Hub data set id read from its Parquet files: {HubDatasets.MuseNews} (the default) or {HubDatasets.MuseBooks}",
            DefaultValueFactory = _ => HubDatasets.MuseNews,
        };

    public static string MuseFolder(string value) => RootFirst(() => HubDatasets.ResolveMuse(value));

    /// <summary>The TOFU splits `eval tofu` reads for a forget set.</summary>
    public static IReadOnlyList<string> TofuEvaluationSplits(string forgetSet) => TofuDataFiles.EvaluationSplits(forgetSet);

    /// <summary>
    /// Under several ranks rank 0 resolves (and downloads) first and the others then find the files in the cache: one
    /// download, not N racing into the same blobs.
    /// </summary>
    private static T RootFirst<T>(Func<T> resolve)
    {
        var world = Communicators.World;
        if (world.Size == 1) return resolve();
        var result = world.IsRoot ? resolve() : default;
        world.Barrier();
        return world.IsRoot ? result! : resolve();
    }
}
