using System.Text.Json.Nodes;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// locuslab/tofu's eval_log_aggregated.json (evaluate_util.py at bdc209e): one object per evaluation file, each metric
/// a {index: value} map: avg_gt_loss, avg_paraphrased_loss (the answer itself on real authors and world facts),
/// average_perturb_loss (lists), rouge1_recall, rougeL_recall and generated_text ([input, generation, ground truth]).
/// </summary>
public static class LocuslabTofuLog
{
    public const string FileName = "eval_log_aggregated.json";
    /// <summary>Where the official runs put it, under the model's folder.</summary>
    public const string Folder = "eval_results/ds_size300";

    /// <summary>The four files the aggregate merges, by open-unlearning's split prefix (aggregate_eval_stat.py lines 29-34).</summary>
    public static readonly IReadOnlyDictionary<string, string> Files = new Dictionary<string, string>
    {
        [TofuLogSplit.Retain] = "eval_log.json",
        [TofuLogSplit.RealAuthors] = "eval_real_author_wo_options.json",
        [TofuLogSplit.WorldFacts] = "eval_real_world_wo_options.json",
        [TofuLogSplit.Forget] = "eval_log_forget.json",
    };

    public static bool Recognises(JsonObject root) => root["eval_log_forget.json"] is JsonObject;

    public static TofuLog Read(LogJson log, JsonObject root) =>
        new(log.Path, TofuLogLayout.Locuslab, Files.ToDictionary(f => f.Key, f => ReadSplit(log, log.Object(root[f.Value], f.Value), f.Key, f.Value)));

    private static TofuLogSplit ReadSplit(LogJson log, JsonObject file, string prefix, string fileName)
    {
        JsonObject Metric(string name) => log.Object(file[name], $"{fileName}.{name}");
        var answers = Metric("avg_gt_loss");
        var bases = Metric("avg_paraphrased_loss");
        var perturbed = Metric("average_perturb_loss");
        var rougeL = Metric("rougeL_recall");
        var others = new List<(string, JsonObject)> { ($"{fileName}.avg_paraphrased_loss", bases), ($"{fileName}.average_perturb_loss", perturbed),
            ($"{fileName}.rougeL_recall", rougeL) };
        var rouge1 = file["rouge1_recall"] is not null ? Metric("rouge1_recall") : null;
        var texts = file["generated_text"] is not null ? Metric("generated_text") : null;
        if (rouge1 is not null) others.Add(($"{fileName}.rouge1_recall", rouge1));
        if (texts is not null) others.Add(($"{fileName}.generated_text", texts));
        var indices = LogIndices.Same(log, $"{fileName}.avg_gt_loss", answers, [.. others]);
        var items = indices.Select(index =>
        {
            string Field(string name) => $"{fileName}.{name}.{index}";
            var answerLoss = log.Number(answers[index], Field("avg_gt_loss"));
            var baseLoss = log.Number(bases[index], Field("avg_paraphrased_loss"));
            var perturbedLosses = log.Numbers(perturbed[index], Field("average_perturb_loss"));
            TofuLogText? text = null;
            if (texts is not null)
            {
                var triple = log.Array(texts[index], Field("generated_text"));
                if (triple.Count != 3) throw log.Bad(Field("generated_text"), $"has {triple.Count} strings, not [input, generation, ground truth]");
                text = new TofuLogText(log.Text(triple[0], Field("generated_text") + "[0]"), log.Text(triple[1], Field("generated_text") + "[1]"),
                    log.Text(triple[2], Field("generated_text") + "[2]"));
            }
            return TofuLogItem.FromLosses(index, answerLoss, baseLoss, perturbedLosses, log.Number(rougeL[index], Field("rougeL_recall")),
                rouge1 is null ? null : log.Number(rouge1[index], Field("rouge1_recall")), null, text);
        }).ToArray();
        LogIndices.CheckPerturbedCounts(log, $"{fileName}.average_perturb_loss", items);
        return new TofuLogSplit(prefix, TofuLogSplit.HasParaphraseFor(prefix), items);
    }
}
