using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Unlearn.Hub;

/// <summary>
/// Data-set values of --data-dir and --data: an existing local folder as it is, otherwise a Hub data set id whose files
/// the command reads are fetched into the cache; the answer is the folder to read them from (the snapshot).
/// </summary>
public static class HubDatasets
{
    public const string Tofu = "locuslab/TOFU";
    public const string MuseNews = "muse-bench/MUSE-News";
    public const string MuseBooks = "muse-bench/MUSE-Books";

    /// <summary>A TOFU folder holding the given splits (`{split}.json` on the Hub).</summary>
    /// <remarks>The holdout split of each forget set read (open-unlearning's MIA metrics) comes along when the revision has it.</remarks>
    public static string ResolveTofu(string value, IEnumerable<string> splits, HubSettings? settings = null) =>
        Resolve(value, settings, snapshot => WithHoldouts(snapshot, splits.ToArray()));

    private static string[] WithHoldouts(HubSnapshot snapshot, IReadOnlyList<string> splits) =>
    [
        .. splits.Select(split => split + ".json"),
        .. splits.Where(split => split.StartsWith("forget", StringComparison.Ordinal))
            .Select(split => Evaluation.Official.TofuMia.DefaultHoldout(split[.."forget01".Length]) + ".json").Distinct().Where(snapshot.Files.Contains),
    ];

    /// <summary>A MUSE folder: on the Hub, the Parquet files of the parts the evaluation reads.</summary>
    public static string ResolveMuse(string value, HubSettings? settings = null) =>
        Resolve(value, settings, snapshot => MuseHubLayout.Needed(snapshot.Files) is { Count: > 0 } needed ? needed
            : throw new HubException($"{snapshot.Repo} has no verbmem/forget Parquet file: not a MUSE data set"));

    /// <summary>
    /// The files `simnpo download` fetches for a data set and what they are: for TOFU and MUSE, those our commands read;
    /// for any other data set, every file of the revision.
    /// </summary>
    public static (IReadOnlyList<string> Files, string What) DownloadSelection(HubSnapshot snapshot)
    {
        if (snapshot.Repo.Id.Equals(Tofu, StringComparison.OrdinalIgnoreCase))
            return (WithHoldouts(snapshot, TofuDataFiles.AllSplits), "the TOFU splits that `tofu` and `eval tofu` read");
        if (MuseHubLayout.Needed(snapshot.Files) is { Count: > 0 } muse) return (muse, "the MUSE parts that `eval muse` reads");
        return (snapshot.Files.Order(StringComparer.Ordinal).ToArray(), "every file of the revision");
    }

    private static string Resolve(string value, HubSettings? settings, Func<HubSnapshot, IReadOnlyList<string>> files)
    {
        if (Directory.Exists(value) || HubRepo.TryParse(value, HubRepoType.Dataset) is not { } repo) return Path.GetFullPath(value);
        using var snapshot = HubSnapshot.Open(repo, settings ?? HubSettings.FromEnvironment());
        foreach (var file in files(snapshot)) snapshot.Get(file);
        return snapshot.Folder;
    }
}
