using System.Text.RegularExpressions;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// MUSE's data sets as the Hub stores them (muse-bench/MUSE-News, muse-bench/MUSE-Books): one folder per subset and one
/// Parquet file per split, `{subset}/{split}-00000-of-00001.parquet` as the datasets library's push_to_hub writes them
/// (verbmem/forget with prompt and gt; knowmem/{forget,retain}_qa[_icl] with question and answer; privleak/{forget,holdout}
/// with text). The evaluation reads the same parts as from MUSE's released JSON layout.
/// </summary>
public static class MuseHubLayout
{
    /// <summary>The (subset, split) parts the evaluation reads, in MuseFiles' order.</summary>
    public static readonly (string Subset, string Split)[] Parts =
    [
        ("verbmem", "forget"), ("knowmem", "forget_qa"), ("knowmem", "forget_qa_icl"), ("knowmem", "retain_qa"), ("knowmem", "retain_qa_icl"),
        ("privleak", "forget"), ("privleak", "holdout"),
    ];

    /// <summary>The repository paths of a part's shards (one for MUSE's small splits), in order.</summary>
    public static IReadOnlyList<string> Shards(IEnumerable<string> files, string subset, string split)
    {
        var pattern = new Regex($"^{Regex.Escape(subset)}/{Regex.Escape(split)}-[0-9]+-of-[0-9]+(-[0-9a-f]+)?\\.parquet$");
        return files.Where(file => pattern.IsMatch(file)).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Every file of the parts above that a repository's listing holds: what an evaluation downloads.</summary>
    public static IReadOnlyList<string> Needed(IReadOnlyCollection<string> files) => Parts.SelectMany(part => Shards(files, part.Subset, part.Split)).ToArray();

    /// <summary>A folder in this layout as MuseFiles (before the command's overrides), or null when the folder is not in it.</summary>
    public static MuseFiles? Files(string folder)
    {
        if (!Directory.Exists(Path.Combine(folder, "verbmem"))) return null;
        var present = Directory.EnumerateFiles(folder, "*.parquet", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(folder, path).Replace(Path.DirectorySeparatorChar, '/')).ToArray();
        string? Part(string subset, string split) => Shards(present, subset, split) switch
        {
            [] => null,
            [var one] => Path.Combine(folder, one),
            var many => throw new NotSupportedException($"{folder}: {subset}/{split} has {many.Count} Parquet shards; one is read"),
        };
        if (Part("verbmem", "forget") is not { } verbMem) return null;
        string Required(string subset, string split) => Part(subset, split) ?? Path.Combine(folder, subset, $"{split}-00000-of-00001.parquet");
        return new MuseFiles(verbMem, Required("knowmem", "forget_qa"), Required("knowmem", "forget_qa_icl"), Part("knowmem", "retain_qa"),
            Part("knowmem", "retain_qa_icl"), Part("privleak", "forget"), Part("privleak", "holdout"));
    }
}
