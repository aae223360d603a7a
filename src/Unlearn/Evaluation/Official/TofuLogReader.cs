using System.Text.Json.Nodes;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// Reads a TOFU log of any known layout, told apart by content: our report.json, open-unlearning's TOFU_EVAL.json, or
/// locuslab/tofu's eval_log_aggregated.json. A folder stands for the file it holds (for TOFU's logs also the model's
/// folder with eval_results/ds_size300/ below it).
/// </summary>
public static class TofuLogReader
{
    public static TofuLog Read(string path) => ReadFile(Resolve(path));

    /// <summary>The log file a path names.</summary>
    public static string Resolve(string path)
    {
        if (!Directory.Exists(path)) return path;
        string[] candidates =
        [
            OpenUnlearningTofuLog.FileName, LocuslabTofuLog.FileName, Path.Combine(LocuslabTofuLog.Folder, LocuslabTofuLog.FileName), SimNpoTofuLog.FileName,
        ];
        return candidates.Select(c => Path.Combine(path, c)).FirstOrDefault(File.Exists)
            ?? throw new BadInputException(path, $"a folder without a TOFU log (looked for {string.Join(", ", candidates)})");
    }

    private static TofuLog ReadFile(string path)
    {
        var log = new LogJson(path);
        if (log.Parse() is not JsonObject root) throw new BadInputException(path, "unknown layout: not a JSON object");
        if (SimNpoTofuLog.Recognises(root)) return SimNpoTofuLog.Read(log, root);
        if (OpenUnlearningTofuLog.Recognises(root)) return OpenUnlearningTofuLog.Read(log, root);
        if (LocuslabTofuLog.Recognises(root)) return LocuslabTofuLog.Read(log, root);
        var keys = string.Join(", ", root.Select(p => p.Key).Take(6));
        throw new BadInputException(path, "unknown layout: not our report.json (splits, config), open-unlearning's TOFU_EVAL.json (forget_Q_A_Prob.value_by_index) "
            + $"or TOFU's eval_log_aggregated.json (eval_log_forget.json); its keys: {(keys.Length == 0 ? "none" : keys)}");
    }

    /// <summary>
    /// The retain model's log must describe the same forget questions as the evaluation: same number of items (forget01,
    /// 05 and 10 differ, and TOFU's logs stop at 300) and, where both name it, the same forget set. Errors name both files.
    /// </summary>
    public static void CheckComparable(TofuLog retain, string evaluated, int evaluatedCount, string? evaluatedForgetSet)
    {
        var retainCount = retain.Forget.Items.Count;
        if (retainCount != evaluatedCount)
            throw new BadInputException(retain.Path, $"the retain log's forget split has {retainCount} items{SetOf(retainCount)}, the evaluation in {evaluated} "
                + $"has {evaluatedCount}{SetOf(evaluatedCount)}: forget quality compares the same questions");
        CheckForgetSet(retain, evaluated, evaluatedForgetSet);
    }

    /// <summary>The check that needs no item count, so that a command can refuse a wrong log before it evaluates anything.</summary>
    public static void CheckForgetSet(TofuLog retain, string evaluated, string? evaluatedForgetSet)
    {
        if (retain.ForgetSetOrInferred is { } set && evaluatedForgetSet is not null && set != evaluatedForgetSet)
            throw new BadInputException(retain.Path, $"the retain log is for forget set '{set}' ({retain.Forget.Items.Count} items), the evaluation in "
                + $"{evaluated} for '{evaluatedForgetSet}'");
    }

    private static string SetOf(int count) => TofuLog.ForgetSetOfCount(count) is { } set ? $" ({set}{(count == 300 ? ", capped at 300" : "")})" : "";
}
