using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// open-unlearning's memorisation and MIA metrics in a TOFU evaluation (configs/eval/tofu_metrics/*.yaml at d3d7cf9):
/// exact_memorization and extraction_strength on the forget answers, the mia_* attacks between the forget answers and
/// the holdout split's (TOFU's holdoutNN.jsonl: authors outside the fine-tuning set), and privleak against the retain
/// model's mia_min_k AUC. Items, prompt template and lengths are our TOFU evaluation's.
/// </summary>
public static class TofuMia
{
    /// <summary>forget01 → holdout01: the holdout split open-unlearning pairs with each forget split (tofu.yaml).</summary>
    public static string DefaultHoldout(string forgetSet) => forgetSet.Replace("forget", "holdout", StringComparison.Ordinal);

    /// <summary>The holdout file: a name in the data folder (holdout10 or holdout10.jsonl) or a path.</summary>
    public static string HoldoutPath(TofuSettings settings)
    {
        var name = settings.Holdout ?? DefaultHoldout(settings.ForgetSet);
        if (File.Exists(name)) return name;
        return TofuDataFiles.Find(settings.DataDirectory, name.EndsWith(".jsonl", StringComparison.Ordinal) ? name[..^".jsonl".Length] : name);
    }

    /// <summary>The metrics; with a group, every model pass split across its ranks, the same bits on every rank for any N.</summary>
    public static OpenUnlearningMetrics Compute<T>(LlamaModel<T> model, ITextTokenizer tokenizer, TofuSettings settings, IOps<T> ops,
        Action<string>? progress = null, ICommunicator? group = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var encoder = new ExampleEncoder(tokenizer, settings.Template);
        var maxLength = Math.Min(settings.MaxLength, model.Config.MaxSequenceLength);
        var forgetPath = TofuDataFiles.Find(settings.DataDirectory, Path.GetFileNameWithoutExtension(TofuSplit.Forget(settings.ForgetSet).FileName));
        var forget = TofuSplitFile.Read(forgetPath, TofuSplit.Forget(settings.ForgetSet), settings.MaxItems).Select(i => (i.Question, i.Answer)).ToArray();
        var holdoutPath = HoldoutPath(settings);
        // Without the holdout split (an older copy of TOFU) only the memorisation metrics can be computed; an explicit one must exist.
        if (settings.Holdout is not null && !File.Exists(holdoutPath)) throw new BadInputException(holdoutPath, "holdout file not found");
        var holdout = File.Exists(holdoutPath)
            ? JsonlRecords.Read(holdoutPath, tokenizer.VocabSize).Take(settings.MaxItems)
                .Select(r => r as QaRecord ?? throw new BadInputException(holdoutPath, "expected question and answer records"))
                .Select(r => (r.Question, r.Answer)).ToArray()
            : null;
        using var reference = settings.ReferenceModel is { } referencePath ? ModelFiles.Load(referencePath, ops, model.Precision) : null;

        MiaSetStatistics Measure((string Question, string Answer)[] items, bool attacks)
        {
            var examples = items.Select(i => encoder.Encode(i.Question, i.Answer)).ToArray();
            // zlib compresses the labelled tokens decoded without special tokens (extract_target_texts_from_processed_data).
            var special = new HashSet<int> { tokenizer.BosId, tokenizer.EosId, encoder.EndId };
            var texts = examples.Select(e => tokenizer.Decode(e.AnswerIds.Where(id => !special.Contains(id)))).ToArray();
            return OpenUnlearningExtras.Measure(model, examples, texts, settings.BatchSize, maxLength, gradientNorms: attacks && settings.MiaGradientNorms,
                attacks ? reference : null, group);
        }

        var forgetStatistics = Measure(forget, attacks: holdout is not null);
        var metrics = OpenUnlearningExtras.Metrics(forgetStatistics, forgetStatistics, holdout is null ? null : Measure(holdout, attacks: true),
            MiaAttacks.DefaultK);
        progress?.Invoke(holdout is null
            ? $"exact memorization {metrics[Memorization.ExactMemorization]["agg_value"]}; no {holdoutPath}, so no MIA metrics"
            : $"exact memorization {metrics[Memorization.ExactMemorization]["agg_value"]}, MIA AUCs (forget vs {Path.GetFileName(holdoutPath)}): "
                + string.Join(", ", metrics.Where(m => m.Key.StartsWith("mia_", StringComparison.Ordinal)).Select(m => $"{m.Key} {m.Value["auc"]:F4}")));
        return metrics;
    }

    /// <summary>
    /// The report with privleak added to its Extra: its mia_min_k AUC against the one in the retain log the report was
    /// compared with (<see cref="TofuReport.RetainReference"/>), or against 0.5 where that log has none, as open-unlearning.
    /// </summary>
    public static TofuReport WithPrivLeak(TofuReport report)
    {
        if (report.Extra is not { } extra || !extra.Contains(MiaAttacks.MinK) || extra.Contains(OpenUnlearningExtras.PrivLeakName)) return report;
        var metrics = new OpenUnlearningMetrics();
        metrics.AddAll(extra);
        OpenUnlearningExtras.AddPrivLeak(metrics, report.RetainReference is { } retain ? RetainMinKAuc(retain) : null);
        return report with { Extra = metrics };
    }

    /// <summary>
    /// mia_min_k's AUC in a retain log: open-unlearning's TOFU_EVAL.json or TOFU_SUMMARY.json (or their folder), or our
    /// report.json (its `summary`); null when the log has none (locuslab/tofu's logs never do).
    /// </summary>
    public static double? RetainMinKAuc(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "TOFU_EVAL.json");
        if (!File.Exists(path)) return null;
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException)
        {
            return null;
        }
        var entry = root?[MiaAttacks.MinK] ?? root?["summary"]?[MiaAttacks.MinK];
        var value = entry is JsonObject obj ? obj["agg_value"] : entry;
        return value is JsonValue number && number.GetValueKind() == JsonValueKind.Number ? number.GetValue<double>() : null;
    }
}
