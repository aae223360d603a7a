using System.Globalization;
using System.Text.Json.Nodes;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>Our own report.json (TofuReport) as a log: read back from a file, or taken from a report in memory.</summary>
public static class SimNpoTofuLog
{
    public const string FileName = "report.json";

    /// <summary>Our split names under open-unlearning's prefixes.</summary>
    private static readonly IReadOnlyDictionary<string, string> Prefixes = new Dictionary<string, string>
    {
        [TofuSplit.ForgetName] = TofuLogSplit.Forget,
        [TofuSplit.Retain.Name] = TofuLogSplit.Retain,
        [TofuSplit.RealAuthors.Name] = TofuLogSplit.RealAuthors,
        [TofuSplit.WorldFacts.Name] = TofuLogSplit.WorldFacts,
    };

    public static bool Recognises(JsonObject root) => root["splits"] is JsonArray && root["config"] is JsonObject;

    public static TofuLog FromReport(TofuReport report, string path) =>
        new(path, TofuLogLayout.SimNpo, report.Splits.ToDictionary(s => Prefixes[s.Name], s => new TofuLogSplit(Prefixes[s.Name],
            TofuLogSplit.HasParaphraseFor(Prefixes[s.Name]), s.Items.Select((item, i) => Item(i, item.AnswerLoss, item.BaseLoss, item.PerturbedLosses,
                item.RougeLRecall, new TofuLogText(item.Question, item.Generation, item.Answer))).ToArray())))
        { ForgetSet = report.Config.ForgetSet };

    public static TofuLog Read(LogJson log, JsonObject root)
    {
        var splits = log.Array(root["splits"], "splits");
        var result = new Dictionary<string, TofuLogSplit>();
        foreach (var (node, s) in splits.Select((n, s) => (n, s)))
        {
            var split = log.Object(node, $"splits[{s}]");
            var name = log.Text(split["name"], $"splits[{s}].name");
            if (!Prefixes.TryGetValue(name, out var prefix)) throw log.Bad($"splits[{s}].name", $"unknown split '{name}'");
            var items = log.Array(split["items"], $"{name}.items").Select((itemNode, i) =>
            {
                string Field(string field) => $"{name}.items[{i}].{field}";
                var item = log.Object(itemNode, $"{name}.items[{i}]");
                return Item(i, log.Number(item["answer_loss"], Field("answer_loss")), log.Number(item["base_loss"], Field("base_loss")),
                    log.Numbers(item["perturbed_losses"], Field("perturbed_losses")), log.Number(item["rouge_l_recall"], Field("rouge_l_recall")),
                    new TofuLogText(log.Text(item["question"], Field("question")), log.Text(item["generation"], Field("generation")),
                        log.Text(item["answer"], Field("answer"))));
            }).ToArray();
            if (items.Length == 0) throw log.Bad($"{name}.items", "holds no items");
            LogIndices.CheckPerturbedCounts(log, $"{name}.items", items);
            result[prefix] = new TofuLogSplit(prefix, TofuLogSplit.HasParaphraseFor(prefix), items);
        }
        var missing = TofuLogSplit.Prefixes.FirstOrDefault(p => !result.ContainsKey(p));
        if (missing is not null) throw log.Bad("splits", $"no {Prefixes.First(p => p.Value == missing).Key} split");
        var forgetSet = root["config"]?["forget_set"] is JsonValue set ? log.Text(set, "config.forget_set") : null;
        return new TofuLog(log.Path, TofuLogLayout.SimNpo, result) { ForgetSet = forgetSet };
    }

    /// <summary>Our losses with probabilities exp(−loss) in float64, and ROUGE-1 and the ROUGE-L F1 from the texts (TOFU's stemmed rouge_score).</summary>
    private static TofuLogItem Item(int index, double answerLoss, double baseLoss, IReadOnlyList<double> perturbedLosses, double rougeLRecall, TofuLogText text) =>
        TofuLogItem.FromLosses(index.ToString(CultureInfo.InvariantCulture), answerLoss, baseLoss, perturbedLosses, rougeLRecall,
            Rouge1.Score(text.Generation, text.GroundTruth, useStemmer: true).Recall, RougeL.Score(text.Generation, text.GroundTruth, useStemmer: true).F1, text);
}
