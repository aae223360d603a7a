using System.Text.Json.Nodes;
using SimNpo.Unlearn.Evaluation.Official;

namespace SimNpo.Tests.Evaluation.Official;

/// <summary>
/// Our AUC and privleak on open-unlearning's published logs (../shared/data/reference-logs/open-unlearning): the AUC
/// recomputed from each mia_* entry's stored per-item scores, and privleak from the stored AUCs, give the stored values.
/// </summary>
public class OfficialMiaLogTests
{
    private const string Logs = "data/reference-logs/open-unlearning";

    private static JsonObject Read(string relativePath) => JsonNode.Parse(File.ReadAllText(SharedFiles.Require($"{Logs}/{relativePath}")))!.AsObject();

    private static double[] Scores(JsonNode side) => side["value_by_index"]!.AsObject().Select(p => p.Value!["score"]!.GetValue<double>()).ToArray();

    /// <summary>
    /// sklearn's roc_auc_score sums trapezoids over thresholds; ours counts pairs. Both are exact fractions of at most
    /// 400·400 pairs computed in double, so they agree to a few ulps: 1e-12.
    /// </summary>
    [TestCase("tofu_Llama-2-7b-chat-hf_full/evals_forget01/TOFU_EVAL.json")]
    [TestCase("tofu_Llama-2-7b-chat-hf_full/evals_forget05/TOFU_EVAL.json")]
    [TestCase("tofu_Llama-2-7b-chat-hf_full/evals_forget10/TOFU_EVAL.json")]
    [TestCase("tofu_Llama-2-7b-chat-hf_retain90/TOFU_EVAL.json")]
    [TestCase("tofu_Llama-2-7b-chat-hf_retain99/TOFU_EVAL.json")]
    [TestCase("muse_Llama-2-7b-hf_News_target/MUSE_EVAL.json")]
    [TestCase("muse_Llama-2-7b-hf_News_retrain/MUSE_EVAL.json")]
    public void AucFromStoredScoresIsTheStoredAuc(string log)
    {
        var entries = Read(log).Where(e => e.Key.StartsWith("mia_", StringComparison.Ordinal)).ToArray();
        Assert.That(entries, Is.Not.Empty);
        foreach (var (name, entry) in entries)
        {
            var forget = Scores(entry!["forget"]!);
            var holdout = Scores(entry["holdout"]!);
            var rebuilt = MiaAttacks.Entry(forget, holdout);
            Assert.That(rebuilt["auc"]!.GetValue<double>(), Is.EqualTo(entry["auc"]!.GetValue<double>()).Within(1e-12), $"{log} {name}");
            // Each side's agg_value is the mean of its scores; open-unlearning's np.mean ran over float32 scores in float32
            // (pairwise sums of 400: at most ~9 roundings of 2^-24 each, 5e-7 relative), ours in double: 1e-6 relative.
            foreach (var side in new[] { "forget", "holdout" })
                Assert.That(rebuilt[side]!["agg_value"]!.GetValue<double>(),
                    Is.EqualTo(entry[side]!["agg_value"]!.GetValue<double>()).Within(1e-6 * Math.Abs(entry[side]!["agg_value"]!.GetValue<double>())),
                    $"{log} {name} {side}");
        }
    }

    /// <summary>
    /// privleak from the stored mia_min_k AUCs: each full-model split against its retain model (retain99 ↔ forget01,
    /// 95 ↔ 05, 90 ↔ 10), MUSE's target against its retrain, and a retain model alone against the default 0.5.
    /// Both sides evaluate the same expression of the same doubles, so the difference is at most an ulp or two.
    /// </summary>
    [TestCase("tofu_Llama-2-7b-chat-hf_full/evals_forget01/TOFU_EVAL.json", "tofu_Llama-2-7b-chat-hf_retain99/TOFU_EVAL.json")]
    [TestCase("tofu_Llama-2-7b-chat-hf_full/evals_forget05/TOFU_EVAL.json", "tofu_Llama-2-7b-chat-hf_retain95/TOFU_EVAL.json")]
    [TestCase("tofu_Llama-2-7b-chat-hf_full/evals_forget10/TOFU_EVAL.json", "tofu_Llama-2-7b-chat-hf_retain90/TOFU_EVAL.json")]
    [TestCase("muse_Llama-2-7b-hf_News_target/MUSE_EVAL.json", "muse_Llama-2-7b-hf_News_retrain/MUSE_EVAL.json")]
    [TestCase("tofu_Llama-2-7b-chat-hf_retain90/TOFU_EVAL.json", null)]
    [TestCase("muse_Llama-2-7b-hf_News_retrain/MUSE_EVAL.json", null)]
    public void PrivLeakFromStoredAucsIsTheStoredPrivLeak(string log, string? retainLog)
    {
        // The summaries beside the logs hold the same agg_values and read faster.
        JsonObject Summary(string path) => Read(path.Replace("_EVAL.json", "_SUMMARY.json", StringComparison.Ordinal));
        double MinKAuc(string path) => Summary(path)[MiaAttacks.MinK]!.GetValue<double>();
        var expected = Summary(log)["privleak"]!.GetValue<double>();
        var metrics = new OpenUnlearningMetrics();
        metrics.Add(MiaAttacks.MinK, new JsonObject { ["auc"] = MinKAuc(log), ["agg_value"] = MinKAuc(log) });
        OpenUnlearningExtras.AddPrivLeak(metrics, retainLog is null ? null : MinKAuc(retainLog));
        Assert.That(metrics["privleak"]["agg_value"]!.GetValue<double>(), Is.EqualTo(expected).Within(1e-12 * Math.Abs(expected)));
    }
}
