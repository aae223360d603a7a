namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// TOFU's files in a data folder: `{split}.jsonl` as this repository's copies and the demo name them, or `{split}.json`
/// as the locuslab/TOFU data set on the Hub names the same JSON Lines files. The .jsonl wins when both are there.
/// </summary>
public static class TofuDataFiles
{
    /// <summary>Every split our commands read: the training sets of each forget size and the evaluation's perturbed splits.</summary>
    public static IReadOnlyList<string> AllSplits { get; } =
    [
        "full", "forget01", "forget05", "forget10", "retain90", "retain95", "retain99",
        "forget01_perturbed", "forget05_perturbed", "forget10_perturbed", "retain_perturbed", "real_authors_perturbed", "world_facts_perturbed",
    ];

    /// <summary>The splits `eval tofu` reads for a forget set.</summary>
    public static IReadOnlyList<string> EvaluationSplits(string forgetSet) =>
        TofuSplit.All(forgetSet).Select(split => Path.GetFileNameWithoutExtension(split.FileName)).ToArray();

    /// <summary>The splits the whole protocol reads: full, forgetXX, its retainXX and the evaluation's.</summary>
    public static IReadOnlyList<string> ProtocolSplits(string forgetSet) =>
        ["full", forgetSet, RetainSplit(forgetSet), .. EvaluationSplits(forgetSet)];

    /// <summary>retain90 for forget10: the rest of full.</summary>
    public static string RetainSplit(string forgetSet) =>
        $"retain{100 - int.Parse(forgetSet["forget".Length..], System.Globalization.CultureInfo.InvariantCulture):D2}";

    /// <summary>The split's file in the folder: .jsonl, else .json, else the .jsonl path (whose absence the reader reports).</summary>
    public static string Find(string folder, string split)
    {
        var lines = Path.Combine(folder, split + ".jsonl");
        var json = Path.Combine(folder, split + ".json");
        return !File.Exists(lines) && File.Exists(json) ? json : lines;
    }
}
