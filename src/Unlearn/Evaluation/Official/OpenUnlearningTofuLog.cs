using System.Text.Json.Nodes;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// open-unlearning's TOFU_EVAL.json (configs/eval/tofu_metrics/*.yaml at d3d7cf9): per split {prefix}_Q_A_Prob
/// ({prob, avg_loss}), {prefix}_Q_A_PARA_Prob on forget and retain, {prefix}_Q_A_PERT_Prob (lists) and {prefix}_Q_A_ROUGE
/// (rouge1_recall, rougeL_f1, rougeL_recall, input, ground_truth, generation), each under value_by_index.
/// </summary>
public static class OpenUnlearningTofuLog
{
    public const string FileName = "TOFU_EVAL.json";

    public static bool Recognises(JsonObject root) => root["forget_Q_A_Prob"]?["value_by_index"] is JsonObject;

    public static TofuLog Read(LogJson log, JsonObject root)
    {
        var splits = TofuLogSplit.Prefixes.ToDictionary(p => p, p => ReadSplit(log, root, p));
        return new TofuLog(log.Path, TofuLogLayout.OpenUnlearning, splits);
    }

    private static TofuLogSplit ReadSplit(LogJson log, JsonObject root, string prefix)
    {
        var hasParaphrase = TofuLogSplit.HasParaphraseFor(prefix);
        JsonObject ByIndex(string metric) => log.Object(log.Object(root[metric], metric)["value_by_index"], $"{metric}.value_by_index");
        var answerName = $"{prefix}_Q_A_Prob";
        var answers = ByIndex(answerName);
        var baseName = hasParaphrase ? $"{prefix}_Q_A_PARA_Prob" : answerName;
        var (bases, perturbed, rouge) = (ByIndex(baseName), ByIndex($"{prefix}_Q_A_PERT_Prob"), ByIndex($"{prefix}_Q_A_ROUGE"));
        var indices = LogIndices.Same(log, answerName, answers, (baseName, bases), ($"{prefix}_Q_A_PERT_Prob", perturbed), ($"{prefix}_Q_A_ROUGE", rouge));
        var rougeName = $"{prefix}_Q_A_ROUGE";
        var items = indices.Select(index =>
        {
            string Item(string metric) => $"{metric}.value_by_index.{index}";
            string Field(string metric, string name) => $"{Item(metric)}.{name}";
            var answer = log.Object(answers[index], Item(answerName));
            var baseAnswer = log.Object(bases[index], Item(baseName));
            var wrong = log.Object(perturbed[index], Item($"{prefix}_Q_A_PERT_Prob"));
            var scores = log.Object(rouge[index], Item($"{prefix}_Q_A_ROUGE"));
            TofuLogText? text = scores.ContainsKey("generation")
                ? new(log.Text(scores["input"], Field(rougeName, "input")), log.Text(scores["generation"], Field(rougeName, "generation")),
                    log.Text(scores["ground_truth"], Field(rougeName, "ground_truth")))
                : null;
            double? Optional(string name) => scores.ContainsKey(name) ? log.Number(scores[name], Field(rougeName, name)) : null;
            return new TofuLogItem(index, log.Number(answer["avg_loss"], Field(answerName, "avg_loss")), log.Number(answer["prob"], Field(answerName, "prob")),
                log.Number(baseAnswer["avg_loss"], Field(baseName, "avg_loss")), log.Number(baseAnswer["prob"], Field(baseName, "prob")),
                log.Numbers(wrong["avg_loss"], Field($"{prefix}_Q_A_PERT_Prob", "avg_loss")), log.Numbers(wrong["prob"], Field($"{prefix}_Q_A_PERT_Prob", "prob")),
                log.Number(scores["rougeL_recall"], Field(rougeName, "rougeL_recall")), Optional("rouge1_recall"), Optional("rougeL_f1"), text);
        }).ToArray();
        LogIndices.CheckPerturbedCounts(log, $"{prefix}_Q_A_PERT_Prob", items);
        return new TofuLogSplit(prefix, hasParaphrase, items);
    }
}
