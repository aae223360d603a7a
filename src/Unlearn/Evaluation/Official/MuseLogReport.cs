using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>A MUSE report aggregated from a log's per-item values (`eval muse --from-logs`), without a model.</summary>
public static class MuseLogReport
{
    /// <param name="retrain">The retrained model's log where the reference came from one: it must be of the same texts.</param>
    public static MuseReport Aggregate(MuseLog log, PrivLeakReference? reference, MuseLog? retrain, bool rescore)
    {
        if (retrain is not null) CheckSameData(log, retrain);
        var missing = new List<string>();
        if (log.KnowMemForget is null) missing.Add("KnowMem forget: the log has no forget QA items");
        if (log.KnowMemRetain is null) missing.Add("KnowMem retain: the log has no retain QA items");
        if (log.VerbMemForget is null) missing.Add("VerbMem: the log has no VerbMem items");
        if (log.MinK is null) missing.Add("PrivLeak: the log has no Min-40% scores of the privleak forget and holdout texts");
        else if (reference is null) missing.Add("PrivLeak: no retrained model's AUC (--retrain-results, --retrain-auc or --corpus); the AUC alone is reported");
        static double? Mean(IReadOnlyList<RougeItem>? items) => items is null ? null : 100 * items.Average(i => i.RougeLF1);
        return new MuseReport
        {
            FromLogs = log.Source,
            FromLogsLayout = log.Layout,
            VerbMem = Mean(log.VerbMemForget),
            KnowMemForget = Mean(log.KnowMemForget),
            KnowMemRetain = Mean(log.KnowMemRetain),
            MinK = log.MinK,
            PrivLeak = log.MinK is { } minK && reference is not null ? new PrivLeak(minK.Auc, reference.Auc, reference.Source) : null,
            Official = MuseSummary.Metrics(log, reference),
            Rescore = rescore ? MuseSummary.Rescore(log) : null,
            NotComputed = missing,
        };
    }

    /// <summary>
    /// A retrained model's log of other texts (another corpus, another fold) gives a reference that means nothing: the
    /// privleak texts must be as many, and the questions the same where both logs have them.
    /// </summary>
    private static void CheckSameData(MuseLog log, MuseLog retrain)
    {
        void Refuse(string field, string ours, string theirs) => throw new BadInputException(retrain.Source,
            $"is not a log of the same texts: {field} {theirs} here against {ours} in {log.Source}");
        if (log.MinK is { } minK && retrain.MinK is { } other)
        {
            if (minK.Forget.Count != other.Forget.Count) Refuse("privleak forget texts:", $"{minK.Forget.Count}", $"{other.Forget.Count}");
            if (minK.Holdout.Count != other.Holdout.Count) Refuse("privleak holdout texts:", $"{minK.Holdout.Count}", $"{other.Holdout.Count}");
        }
        if (log.KnowMemForget is { } questions && retrain.KnowMemForget is { } theirs)
        {
            if (questions.Count != theirs.Count) Refuse("KnowMem forget items:", $"{questions.Count}", $"{theirs.Count}");
            var differing = questions.Zip(theirs).Select((pair, i) => (pair, i)).FirstOrDefault(p => p.pair.First.GroundTruth != p.pair.Second.GroundTruth);
            if (differing.pair.First is not null)
                Refuse($"KnowMem forget item {differing.i} answer", $"'{differing.pair.First.GroundTruth}'", $"'{differing.pair.Second.GroundTruth}'");
        }
    }
}
