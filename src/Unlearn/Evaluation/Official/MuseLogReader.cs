using System.Text.Json.Nodes;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// Reads a MUSE evaluation log of any known layout, told apart by content:
/// - open-unlearning's MUSE_EVAL.json (or its folder): metric → {agg_value, value_by_index} (locuslab/open-unlearning
///   commit d3d7cf9e, src/evals/base.py save_logs; ROUGE per item from src/evals/metrics/utils.py eval_text_similarity);
/// - our report.json (`simnpo eval muse`);
/// - a muse_bench output folder, as the MUSE authors released theirs: knowmem/{forget,retain}/history.json,
///   verbmem/forget/history.json (metrics/logger.py's history) and privleak/{forget,holdout}.json ({text, ppl: {Min-40%...}});
/// - muse_bench eval.py's temp_dir (swj0419/muse_bench commit fcd6651d): verbmem_f/, knowmem_f/, knowmem_r/ log.json and
///   privleak/log.json ({forget, retain, holdout: [{text, Min-40%...}]}).
/// </summary>
public static class MuseLogReader
{
    public const string OpenUnlearning = "open-unlearning MUSE_EVAL.json";
    public const string Ours = "simnpo report.json";
    public const string MuseBench = "muse_bench output folder";
    public const string MuseBenchEval = "muse_bench eval.py temp_dir";

    private const string EvalFile = "MUSE_EVAL.json";
    private const string MinKField = "Min-40%";
    private static readonly string[] RougeMetrics = ["forget_knowmem_ROUGE", "retain_knowmem_ROUGE", "forget_verbmem_ROUGE"];

    public static MuseLog Read(string path)
    {
        if (File.Exists(path)) return ReadFile(path);
        if (!Directory.Exists(path)) throw new BadInputException(path, "no such file or folder");
        string In(params string[] parts) => Path.Combine([path, .. parts]);
        if (File.Exists(In(EvalFile))) return ReadFile(In(EvalFile));
        if (File.Exists(In("report.json"))) return ReadFile(In("report.json"));
        if (new[] { In("knowmem", "forget", "history.json"), In("verbmem", "forget", "history.json"), In("privleak", "forget.json") }.Any(File.Exists))
            return ReadMuseBench(path);
        if (new[] { In("verbmem_f", "log.json"), In("knowmem_f", "log.json"), In("privleak", "log.json") }.Any(File.Exists))
            return ReadMuseBenchEval(path);
        throw new BadInputException(path, $"unknown MUSE log layout: no {EvalFile} (open-unlearning), report.json (simnpo eval muse), "
            + "knowmem/, verbmem/ or privleak/forget.json (muse_bench outputs), or verbmem_f/, knowmem_f/ or privleak/log.json (muse_bench eval.py)");
    }

    private static MuseLog ReadFile(string path)
    {
        var root = LogJson.Parse(path);
        if (root is JsonObject json)
        {
            if (json.ContainsKey("verb_mem_items")) return ReadOurs(path, json);
            if (RougeMetrics.Any(json.ContainsKey) || json.ContainsKey("mia_min_k"))
            {
                if (json.All(pair => pair.Value is JsonValue))
                    throw new BadInputException(path, "holds summary values only (MUSE_SUMMARY.json); give MUSE_EVAL.json, which has the per-item values");
                return ReadOpenUnlearning(path, json);
            }
            if (json.ContainsKey("forget_quality") || json.ContainsKey("forget_truth_ratio") || json.ContainsKey("model_utility"))
                throw new BadInputException(path, "is a TOFU log, not a MUSE one");
        }
        throw new BadInputException(path, $"unknown MUSE log layout: no {string.Join(", ", RougeMetrics)} or mia_min_k entry (open-unlearning) "
            + "and no verb_mem_items (simnpo eval muse)");
    }

    private static MuseLog ReadOpenUnlearning(string path, JsonObject json)
    {
        IReadOnlyList<RougeItem>? Rouge(string metric) => json[metric] is null ? null
            : LogJson.ByIndex(LogJson.Object(json[metric], path, metric)["value_by_index"], path, $"{metric}.value_by_index")
                .Select((item, i) => OpenUnlearningItem(item, path, $"{metric}.value_by_index.{i}")).ToArray();
        MinKScores? minK = null;
        if (json["mia_min_k"] is { } mia)
        {
            double[] Scores(string split) => LogJson.ByIndex(LogJson.Object(LogJson.Object(mia, path, "mia_min_k")[split], path, $"mia_min_k.{split}")
                ["value_by_index"], path, $"mia_min_k.{split}.value_by_index")
                .Select((item, i) => LogJson.Number(item["score"], path, $"mia_min_k.{split}.value_by_index.{i}.score")).ToArray();
            minK = NonEmpty(path, "mia_min_k", Scores("forget"), Scores("holdout"));
        }
        var known = RougeMetrics.Append("mia_min_k").Append("privleak").ToHashSet();
        return new MuseLog
        {
            Source = path, Layout = OpenUnlearning, RougeStemmer = true,
            KnowMemForget = Rouge(RougeMetrics[0]), KnowMemRetain = Rouge(RougeMetrics[1]), VerbMemForget = Rouge(RougeMetrics[2]), MinK = minK,
            OtherEntries = json.Where(pair => !known.Contains(pair.Key))
                .Select(pair => (pair.Key, LogJson.Object(pair.Value, path, pair.Key).DeepClone().AsObject())).ToArray(),
        };
    }

    private static RougeItem OpenUnlearningItem(JsonObject item, string path, string field) => new(
        LogJson.Text(item["input"], path, $"{field}.input"), LogJson.Text(item["ground_truth"], path, $"{field}.ground_truth"),
        LogJson.Text(item["generation"], path, $"{field}.generation"),
        new[] { "rougeL_f1", "rougeL_recall", "rouge1_recall" }.ToDictionary(name => name, name => LogJson.Number(item[name], path, $"{field}.{name}")));

    private static MuseLog ReadOurs(string path, JsonObject json)
    {
        IReadOnlyList<RougeItem>? Items(string field) => json[field] is null ? null
            : LogJson.Array(json[field], path, field).Select((node, i) =>
            {
                var item = LogJson.Object(node, path, $"{field}[{i}]");
                var (rougeL, rouge1) = (LogJson.Object(item["rouge_l"], path, $"{field}[{i}].rouge_l"), LogJson.Object(item["rouge1"], path, $"{field}[{i}].rouge1"));
                return new RougeItem(LogJson.Text(item["input"], path, $"{field}[{i}].input"), LogJson.Text(item["reference"], path, $"{field}[{i}].reference"),
                    LogJson.Text(item["generation"], path, $"{field}[{i}].generation"), new Dictionary<string, double>
                    {
                        ["rougeL_f1"] = LogJson.Number(rougeL["f1"], path, $"{field}[{i}].rouge_l.f1"),
                        ["rougeL_recall"] = LogJson.Number(rougeL["recall"], path, $"{field}[{i}].rouge_l.recall"),
                        ["rouge1_recall"] = LogJson.Number(rouge1["recall"], path, $"{field}[{i}].rouge1.recall"),
                    });
            }).ToArray();
        MinKScores? minK = null;
        if (json["min_k"] is JsonObject scores)
        {
            double[] Split(string split) => LogJson.Array(scores[split], path, $"min_k.{split}")
                .Select((value, i) => LogJson.Number(value, path, $"min_k.{split}[{i}]")).ToArray();
            minK = NonEmpty(path, "min_k", Split("forget"), Split("holdout"));
        }
        return new MuseLog
        {
            Source = path, Layout = Ours, RougeStemmer = json["config"]?["rouge_stemmer"]?.GetValue<bool>() ?? false,
            VerbMemForget = Items("verb_mem_items"), KnowMemForget = Items("know_mem_forget_items"), KnowMemRetain = Items("know_mem_retain_items"), MinK = minK,
        };
    }

    private static MuseLog ReadMuseBench(string folder)
    {
        string In(params string[] parts) => Path.Combine([folder, .. parts]);
        IReadOnlyList<RougeItem>? History(params string[] parts) => File.Exists(In(parts)) ? MuseBenchHistory(In(parts)) : null;
        MinKScores? minK = null;
        if (File.Exists(In("privleak", "forget.json")) || File.Exists(In("privleak", "holdout.json")))
        {
            double[] Scores(string file) => LogJson.Array(LogJson.Parse(In("privleak", file)), In("privleak", file), "(list)")
                .Select((text, i) => LogJson.Number(LogJson.Object(LogJson.Object(text, In("privleak", file), $"[{i}]")["ppl"], In("privleak", file), $"[{i}].ppl")
                    [MinKField], In("privleak", file), $"[{i}].ppl.{MinKField}")).ToArray();
            minK = NonEmpty(In("privleak"), "forget.json and holdout.json", Scores("forget.json"), Scores("holdout.json"));
        }
        return new MuseLog
        {
            Source = folder, Layout = MuseBench, RougeStemmer = false,
            KnowMemForget = History("knowmem", "forget", "history.json"), KnowMemRetain = History("knowmem", "retain", "history.json"),
            VerbMemForget = History("verbmem", "forget", "history.json"), MinK = minK,
        };
    }

    private static MuseLog ReadMuseBenchEval(string folder)
    {
        string In(params string[] parts) => Path.Combine([folder, .. parts]);
        IReadOnlyList<RougeItem>? History(string metric) => File.Exists(In(metric, "log.json")) ? MuseBenchHistory(In(metric, "log.json")) : null;
        MinKScores? minK = null;
        if (File.Exists(In("privleak", "log.json")))
        {
            var path = In("privleak", "log.json");
            var log = LogJson.Object(LogJson.Parse(path), path, "(top level)");
            double[] Scores(string split) => LogJson.Array(log[split], path, split)
                .Select((text, i) => LogJson.Number(LogJson.Object(text, path, $"{split}[{i}]")[MinKField], path, $"{split}[{i}].{MinKField}")).ToArray();
            minK = NonEmpty(path, "forget and holdout", Scores("forget"), Scores("holdout"));
        }
        return new MuseLog
        {
            Source = folder, Layout = MuseBenchEval, RougeStemmer = false,
            KnowMemForget = History("knowmem_f"), KnowMemRetain = History("knowmem_r"), VerbMemForget = History("verbmem_f"), MinK = minK,
        };
    }

    /// <summary>An AUC needs texts on both sides.</summary>
    private static MinKScores NonEmpty(string path, string field, double[] forget, double[] holdout) =>
        forget.Length > 0 && holdout.Length > 0 ? new MinKScores(forget, holdout)
        : throw new BadInputException(path, $"'{field}' has {forget.Length} forget and {holdout.Length} holdout scores; the AUC needs both");

    /// <summary>metrics/logger.py's history: [{prompt, gt, response, rougeL, rougeL_recall, rouge1, rouge1_recall}].</summary>
    private static IReadOnlyList<RougeItem> MuseBenchHistory(string path)
    {
        var items = LogJson.Array(LogJson.Parse(path), path, "(list)");
        if (items.Count == 0) throw new BadInputException(path, "no items");
        return items.Select((node, i) =>
        {
            var item = LogJson.Object(node, path, $"[{i}]");
            return new RougeItem(LogJson.Text(item["prompt"], path, $"[{i}].prompt"), LogJson.Text(item["gt"], path, $"[{i}].gt"),
                LogJson.Text(item["response"], path, $"[{i}].response"),
                new[] { "rougeL", "rougeL_recall", "rouge1", "rouge1_recall" }.ToDictionary(name => name, name => LogJson.Number(item[name], path, $"[{i}].{name}")));
        }).ToArray();
    }
}
