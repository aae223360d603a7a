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

    private const string MinKField = "Min-40%";
    private static readonly string[] RougeMetrics = ["forget_knowmem_ROUGE", "retain_knowmem_ROUGE", "forget_verbmem_ROUGE"];

    public static MuseLog Read(string path)
    {
        if (File.Exists(path)) return ReadFile(path);
        if (!Directory.Exists(path)) throw new BadInputException(path, "no such file or folder");
        string In(params string[] parts) => Path.Combine([path, .. parts]);
        if (File.Exists(In(MuseReport.EvalFile))) return ReadFile(In(MuseReport.EvalFile));
        if (File.Exists(In("report.json"))) return ReadFile(In("report.json"));
        if (new[] { In("knowmem", "forget", "history.json"), In("verbmem", "forget", "history.json"), In("privleak", "forget.json") }.Any(File.Exists))
            return ReadMuseBench(path);
        if (new[] { In("verbmem_f", "log.json"), In("knowmem_f", "log.json"), In("privleak", "log.json") }.Any(File.Exists))
            return ReadMuseBenchEval(path);
        throw new BadInputException(path, $"unknown MUSE log layout: no {MuseReport.EvalFile} (open-unlearning), report.json (simnpo eval muse), "
            + "knowmem/, verbmem/ or privleak/forget.json (muse_bench outputs), or verbmem_f/, knowmem_f/ or privleak/log.json (muse_bench eval.py)");
    }

    private static MuseLog ReadFile(string path)
    {
        var log = new LogJson(path);
        if (log.Parse() is JsonObject json)
        {
            if (json.ContainsKey("verb_mem_items")) return ReadOurs(log, json);
            if (RougeMetrics.Any(json.ContainsKey) || json.ContainsKey("mia_min_k"))
            {
                if (json.All(pair => pair.Value is JsonValue))
                    throw new BadInputException(path, "holds summary values only (MUSE_SUMMARY.json); give MUSE_EVAL.json, which has the per-item values");
                return ReadOpenUnlearning(log, json);
            }
            if (json.ContainsKey("forget_quality") || json.ContainsKey("forget_truth_ratio") || json.ContainsKey("model_utility"))
                throw new BadInputException(path, "is a TOFU log, not a MUSE one");
        }
        throw new BadInputException(path, $"unknown MUSE log layout: no {string.Join(", ", RougeMetrics)} or mia_min_k entry (open-unlearning) "
            + "and no verb_mem_items (simnpo eval muse)");
    }

    private static MuseLog ReadOpenUnlearning(LogJson log, JsonObject json)
    {
        IReadOnlyList<RougeItem>? Rouge(string metric) => json[metric] is null ? null
            : ByIndex(log, log.Object(json[metric], metric)["value_by_index"], $"{metric}.value_by_index")
                .Select((item, i) => OpenUnlearningItem(log, item, $"{metric}.value_by_index.{i}")).ToArray();
        MinKScores? minK = null;
        if (json["mia_min_k"] is { } mia)
        {
            double[] Scores(string split) =>
                ByIndex(log, log.Object(log.Object(mia, "mia_min_k")[split], $"mia_min_k.{split}")["value_by_index"], $"mia_min_k.{split}.value_by_index")
                    .Select((item, i) => log.Number(item["score"], $"mia_min_k.{split}.value_by_index.{i}.score")).ToArray();
            minK = NonEmpty(log, "mia_min_k", Scores("forget"), Scores("holdout"));
        }
        var known = RougeMetrics.Append("mia_min_k").Append("privleak").ToHashSet();
        return new MuseLog
        {
            Source = log.Path, Layout = OpenUnlearning, RougeStemmer = true,
            KnowMemForget = Rouge(RougeMetrics[0]), KnowMemRetain = Rouge(RougeMetrics[1]), VerbMemForget = Rouge(RougeMetrics[2]), MinK = minK,
            OtherEntries = json.Where(pair => !known.Contains(pair.Key)).Select(pair => (pair.Key, (JsonObject)log.Object(pair.Value, pair.Key).DeepClone()))
                .ToArray(),
        };
    }

    private static RougeItem OpenUnlearningItem(LogJson log, JsonObject item, string field) => new(
        log.Text(item["input"], $"{field}.input"), log.Text(item["ground_truth"], $"{field}.ground_truth"), log.Text(item["generation"], $"{field}.generation"),
        new[] { "rougeL_f1", "rougeL_recall", "rouge1_recall" }.ToDictionary(name => name, name => log.Number(item[name], $"{field}.{name}")));

    private static MuseLog ReadOurs(LogJson log, JsonObject json)
    {
        IReadOnlyList<RougeItem>? Items(string field) => json[field] is null ? null
            : log.Array(json[field], field).Select((node, i) =>
            {
                var name = $"{field}[{i}]";
                var item = log.Object(node, name);
                var (rougeL, rouge1) = (log.Object(item["rouge_l"], $"{name}.rouge_l"), log.Object(item["rouge1"], $"{name}.rouge1"));
                return new RougeItem(log.Text(item["input"], $"{name}.input"), log.Text(item["reference"], $"{name}.reference"),
                    log.Text(item["generation"], $"{name}.generation"), new Dictionary<string, double>
                    {
                        ["rougeL_f1"] = log.Number(rougeL["f1"], $"{name}.rouge_l.f1"),
                        ["rougeL_recall"] = log.Number(rougeL["recall"], $"{name}.rouge_l.recall"),
                        ["rouge1_recall"] = log.Number(rouge1["recall"], $"{name}.rouge1.recall"),
                    });
            }).ToArray();
        MinKScores? minK = null;
        if (json["min_k"] is JsonObject scores) minK = NonEmpty(log, "min_k", log.Numbers(scores["forget"], "min_k.forget"), log.Numbers(scores["holdout"], "min_k.holdout"));
        return new MuseLog
        {
            Source = log.Path, Layout = Ours, RougeStemmer = json["config"]?["rouge_stemmer"]?.GetValue<bool>() ?? false,
            VerbMemForget = Items("verb_mem_items"), KnowMemForget = Items("know_mem_forget_items"), KnowMemRetain = Items("know_mem_retain_items"), MinK = minK,
        };
    }

    private static MuseLog ReadMuseBench(string folder)
    {
        string In(params string[] parts) => Path.Combine([folder, .. parts]);
        IReadOnlyList<RougeItem>? History(params string[] parts) => File.Exists(In(parts)) ? MuseBenchHistory(new LogJson(In(parts))) : null;
        MinKScores? minK = null;
        if (File.Exists(In("privleak", "forget.json")) || File.Exists(In("privleak", "holdout.json")))
        {
            double[] Scores(LogJson log) => log.Array(log.Parse(), "(list)")
                .Select((text, i) => log.Number(log.Object(log.Object(text, $"[{i}]")["ppl"], $"[{i}].ppl")[MinKField], $"[{i}].ppl.{MinKField}")).ToArray();
            var (forget, holdout) = (new LogJson(In("privleak", "forget.json")), new LogJson(In("privleak", "holdout.json")));
            minK = NonEmpty(forget, "(list)", Scores(forget), Scores(holdout));
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
        IReadOnlyList<RougeItem>? History(string metric) => File.Exists(In(metric, "log.json")) ? MuseBenchHistory(new LogJson(In(metric, "log.json"))) : null;
        MinKScores? minK = null;
        if (File.Exists(In("privleak", "log.json")))
        {
            var log = new LogJson(In("privleak", "log.json"));
            var json = log.Object(log.Parse(), "(top level)");
            double[] Scores(string split) => log.Array(json[split], split)
                .Select((text, i) => log.Number(log.Object(text, $"{split}[{i}]")[MinKField], $"{split}[{i}].{MinKField}")).ToArray();
            minK = NonEmpty(log, "forget and holdout", Scores("forget"), Scores("holdout"));
        }
        return new MuseLog
        {
            Source = folder, Layout = MuseBenchEval, RougeStemmer = false,
            KnowMemForget = History("knowmem_f"), KnowMemRetain = History("knowmem_r"), VerbMemForget = History("verbmem_f"), MinK = minK,
        };
    }

    /// <summary>An AUC needs texts on both sides.</summary>
    private static MinKScores NonEmpty(LogJson log, string field, double[] forget, double[] holdout) =>
        forget.Length > 0 && holdout.Length > 0 ? new MinKScores(forget, holdout)
        : throw log.Bad(field, $"has {forget.Length} forget and {holdout.Length} holdout scores; the AUC needs both");

    /// <summary>
    /// open-unlearning's value_by_index: an object keyed "0", "1", ... in order. Other keys (gaps, repeats, words) mean a
    /// log whose lists do not line up, refused with the field.
    /// </summary>
    private static IReadOnlyList<JsonObject> ByIndex(LogJson log, JsonNode? node, string field)
    {
        var list = new List<JsonObject>();
        foreach (var (key, item) in log.Object(node, field))
        {
            if (key != list.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))
                throw log.Bad(field, $"has index '{key}' where index {list.Count} was expected (indices must run 0, 1, 2, ...)");
            list.Add(log.Object(item, $"{field}.{key}"));
        }
        return list.Count > 0 ? list : throw log.Bad(field, "holds no items");
    }

    /// <summary>metrics/logger.py's history: [{prompt, gt, response, rougeL, rougeL_recall, rouge1, rouge1_recall}].</summary>
    private static IReadOnlyList<RougeItem> MuseBenchHistory(LogJson log)
    {
        var items = log.Array(log.Parse(), "(list)");
        if (items.Count == 0) throw log.Bad("(list)", "holds no items");
        return items.Select((node, i) =>
        {
            var item = log.Object(node, $"[{i}]");
            return new RougeItem(log.Text(item["prompt"], $"[{i}].prompt"), log.Text(item["gt"], $"[{i}].gt"), log.Text(item["response"], $"[{i}].response"),
                new[] { "rougeL", "rougeL_recall", "rouge1", "rouge1_recall" }.ToDictionary(name => name, name => log.Number(item[name], $"[{i}].{name}")));
        }).ToArray();
    }
}
