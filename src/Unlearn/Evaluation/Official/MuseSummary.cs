using System.Text.Json.Nodes;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>What PrivLeak is measured against: the retrained model's forget-holdout Min-40% AUC in MUSE's convention.</summary>
public sealed record PrivLeakReference(double Auc, string Source)
{
    /// <summary>
    /// A retrained model's log, taken as open-unlearning takes its retain_logs_path: one minus its mia_min_k AUC
    /// (configs/eval/muse_metrics/privleak.yaml reads retain_model_logs' mia_min_k; src/evals/metrics/privacy.py).
    /// </summary>
    public static PrivLeakReference FromLog(MuseLog retrain) => retrain.MinK is { } minK
        ? new PrivLeakReference(1 - MuseSummary.MiaAuc(minK), retrain.Source)
        : throw new Model.IO.BadInputException(retrain.Source, "has no Min-40% scores of the privleak texts, so it gives no AUC for PrivLeak");
}

/// <summary>Per-item values recomputed from the texts a log holds, against the values it stored.</summary>
public sealed record MuseRescore(int Compared, int Differing, double MaxAbsDiff);

/// <summary>
/// A MUSE log's metrics under open-unlearning's names and in its layout (locuslab/open-unlearning commit d3d7cf9e):
/// forget_knowmem_ROUGE, retain_knowmem_ROUGE and forget_verbmem_ROUGE are the mean ROUGE-L F1 of their items
/// (configs/eval/muse_metrics/*_ROUGE.yaml rouge_type rougeL_f1; muse_bench's mean_rougeL is the same number, 0–1);
/// mia_min_k is the AUC with the forget texts as the negative class (src/evals/metrics/mia/utils.py mia_auc, labels 0
/// forget, 1 holdout, roc_auc_score on the Min-40% scores); privleak is src/evals/metrics/privacy.py's privleak:
/// (1 − AUC) against the reference in MUSE's convention, relative, × 100, with its 1e-10 in the denominator.
/// open-unlearning's other entries are re-aggregated from their items (mean score; AUC for mia_*).
/// </summary>
public static class MuseSummary
{
    public static OpenUnlearningMetrics Metrics(MuseLog log, PrivLeakReference? reference)
    {
        var entries = new List<(string Name, JsonObject Entry)>();
        void Rouge(string name, IReadOnlyList<RougeItem>? items)
        {
            if (items is not null) entries.Add((name, PerItem(Mean(items.Select(i => i.RougeLF1)), items.Select(OpenUnlearningItem))));
        }
        Rouge("forget_knowmem_ROUGE", log.KnowMemForget);
        Rouge("retain_knowmem_ROUGE", log.KnowMemRetain);
        Rouge("forget_verbmem_ROUGE", log.VerbMemForget);
        if (log.MinK is { } minK)
        {
            entries.Add(("mia_min_k", MiaEntry(minK.Forget, minK.Holdout)));
            if (reference is not null) entries.Add(("privleak", new JsonObject { ["agg_value"] = PrivLeak(MiaAuc(minK), reference.Auc) }));
        }
        entries.AddRange(log.OtherEntries.Select(e => (e.Name, Reaggregate(e.Entry))));
        var metrics = new OpenUnlearningMetrics();
        // open-unlearning's save_logs writes the metrics sorted by name (src/evals/base.py).
        foreach (var (name, entry) in entries.OrderBy(e => e.Name, StringComparer.Ordinal)) metrics.Add(name, entry);
        return metrics;
    }

    /// <summary>Our own evaluation's metrics, its items taken as a log of ours.</summary>
    public static OpenUnlearningMetrics Metrics(MuseReport report, PrivLeakReference? reference) => Metrics(new MuseLog
    {
        Source = report.Model ?? "(this evaluation)", Layout = MuseLogReader.Ours, RougeStemmer = report.Config?.RougeStemmer ?? false,
        KnowMemForget = Items(report.KnowMemForgetItems), KnowMemRetain = Items(report.KnowMemRetainItems), VerbMemForget = Items(report.VerbMemItems),
        MinK = report.MinK,
    }, reference);

    private static RougeItem[]? Items(IReadOnlyList<MuseGeneration>? generations) => generations?.Select(g => new RougeItem(g.Input, g.Reference, g.Generation,
        new Dictionary<string, double> { ["rougeL_f1"] = g.RougeL.F1, ["rougeL_recall"] = g.RougeL.Recall, ["rouge1_recall"] = g.Rouge1.Recall })).ToArray();

    /// <summary>open-unlearning's mia_min_k AUC: P(holdout score > forget score), ties half; near 1 when the forget texts are memorised.</summary>
    public static double MiaAuc(MinKScores minK) => RocAuc.Compute(minK.Holdout, minK.Forget);

    /// <summary>privacy.py privleak: score = 1 − mia AUC and ref (MUSE's convention already), (score − ref) / (ref + 1e-10) × 100.</summary>
    public static double PrivLeak(double miaAuc, double referenceAuc) => (1 - miaAuc - referenceAuc) / (referenceAuc + 1e-10) * 100;

    /// <summary>
    /// Every stored ROUGE value recomputed from the log's generation and ground truth with rouge_score's scorer
    /// (scorer.score(gt, generation); stemming as the log's code did). Differing means any bit differs.
    /// </summary>
    public static MuseRescore Rescore(MuseLog log)
    {
        var (compared, differing, maxDiff) = (0, 0, 0.0);
        foreach (var item in new[] { log.KnowMemForget, log.KnowMemRetain, log.VerbMemForget }.SelectMany(items => items ?? []))
        {
            var rougeL = RougeL.Score(item.Generation, item.GroundTruth, log.RougeStemmer);
            var rouge1 = Rouge1.Score(item.Generation, item.GroundTruth, log.RougeStemmer);
            foreach (var (name, stored) in item.Scores)
            {
                var recomputed = name switch
                {
                    "rougeL" or "rougeL_f1" => rougeL.F1,
                    "rougeL_recall" => rougeL.Recall,
                    "rouge1" or "rouge1_f1" => rouge1.F1,
                    "rouge1_recall" => rouge1.Recall,
                    _ => throw new ArgumentException($"no rescoring for '{name}'"),
                };
                compared++;
                if (recomputed != stored) differing++;
                maxDiff = Math.Max(maxDiff, Math.Abs(recomputed - stored));
            }
        }
        return new MuseRescore(compared, differing, maxDiff);
    }

    /// <summary>sum(values) / len(values), as muse_bench's logger.py; numpy's mean (open-unlearning) sums pairwise, a few ulps apart.</summary>
    private static double Mean(IEnumerable<double> values)
    {
        var (sum, count) = (0.0, 0);
        foreach (var value in values) (sum, count) = (sum + value, count + 1);
        return sum / count;
    }

    private static JsonObject OpenUnlearningItem(RougeItem item)
    {
        var json = new JsonObject();
        foreach (var name in new[] { "rouge1_recall", "rougeL_f1", "rougeL_recall" })
            if (name == "rougeL_f1" || item.Scores.ContainsKey(name)) json[name] = name == "rougeL_f1" ? item.RougeLF1 : item.Scores[name];
        json["input"] = item.Input;
        json["ground_truth"] = item.GroundTruth;
        json["generation"] = item.Generation;
        return json;
    }

    private static JsonObject PerItem(double aggregate, IEnumerable<JsonObject> items)
    {
        var byIndex = new JsonObject();
        var i = 0;
        foreach (var item in items) byIndex[(i++).ToString(System.Globalization.CultureInfo.InvariantCulture)] = item;
        return new JsonObject { ["agg_value"] = aggregate, ["value_by_index"] = byIndex };
    }

    private static JsonObject Scores(IReadOnlyList<double> scores) => PerItem(Mean(scores), scores.Select(s => new JsonObject { ["score"] = s }));

    private static JsonObject MiaEntry(IReadOnlyList<double> forget, IReadOnlyList<double> holdout)
    {
        var auc = RocAuc.Compute(holdout, forget);
        return new JsonObject { ["forget"] = Scores(forget), ["holdout"] = Scores(holdout), ["auc"] = auc, ["agg_value"] = auc };
    }

    /// <summary>An open-unlearning entry with its aggregate recomputed from its items where it has them (mean score, or forget/holdout AUC).</summary>
    private static JsonObject Reaggregate(JsonObject entry)
    {
        static double[]? ItemScores(JsonNode? split) => split?["value_by_index"] is JsonObject items
            && items.All(i => i.Value?["score"] is JsonValue) ? items.Select(i => i.Value!["score"]!.GetValue<double>()).ToArray() : null;
        if (ItemScores(entry["forget"]) is { } forget && ItemScores(entry["holdout"]) is { } holdout) return MiaEntry(forget, holdout);
        if (ItemScores(entry) is { } scores) return Scores(scores);
        return (JsonObject)entry.DeepClone();
    }
}
