using System.Text.Json.Nodes;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// open-unlearning's TOFU metrics from per-item values, as its handlers compute them (src/evals/metrics at d3d7cf9):
/// probability (memorization.py lines 20-41), probability_w_options (44-72), rouge (75-104), truth_ratio (107-174),
/// ks_test for forget quality (privacy.py lines 6-32) and hm_aggregate for model utility (utility.py lines 13-16), under
/// the names of configs/eval/tofu_metrics/*.yaml. Every aggregate is a float64 mean of float64 per-item values, as numpy's.
/// </summary>
public static class TofuLogAggregation
{
    /// <summary>The nine numbers model utility is the harmonic mean of (model_utility.yaml).</summary>
    public static readonly IReadOnlyList<string> ModelUtilityParts =
    [
        "retain_Q_A_Prob", "retain_Q_A_ROUGE", "retain_Truth_Ratio", "ra_Q_A_Prob_normalised", "ra_Q_A_ROUGE", "ra_Truth_Ratio",
        "wf_Q_A_Prob_normalised", "wf_Q_A_ROUGE", "wf_Truth_Ratio",
    ];

    /// <summary>
    /// Every metric of the log; forget quality against the retain model's log when given, else the one the caller
    /// computed (or null, as open-unlearning writes without retain logs).
    /// </summary>
    public static OpenUnlearningMetrics Compute(TofuLog log, TofuFormulas formulas, TofuLog? retain = null, double? forgetQuality = null)
    {
        var metrics = new OpenUnlearningMetrics();
        foreach (var prefix in TofuLogSplit.Prefixes) AddSplit(metrics, log.Splits[prefix], formulas);
        metrics.AddValue("forget_quality", retain is null ? forgetQuality : ForgetQuality(log, retain, formulas));
        metrics.AddValue("model_utility", TofuMetrics.HarmonicMean(ModelUtilityParts.Select(name => metrics[name]["agg_value"]!.GetValue<double>()).ToArray()));
        return metrics;
    }

    /// <summary>
    /// The KS p-value between the two models' per-item forget truth ratios. It always takes the geometric ratio (both
    /// official codes do, aggregate_eval_stat.py lines 10-26 and open-unlearning's forget_truth_ratio scores), so the
    /// truth-ratio mean does not change it.
    /// </summary>
    public static double ForgetQuality(TofuLog log, TofuLog retain, TofuFormulas formulas)
    {
        var geometric = formulas with { Mean = TruthRatioMean.Geometric };
        return KolmogorovSmirnov.TwoSamplePValue(log.Forget.Items.Select(geometric.FalseOverTrue).ToArray(),
            retain.Forget.Items.Select(geometric.FalseOverTrue).ToArray());
    }

    private static void AddSplit(OpenUnlearningMetrics metrics, TofuLogSplit split, TofuFormulas formulas)
    {
        var items = split.Items;
        var p = split.Prefix;
        metrics.AddPerItem($"{p}_Q_A_Prob", items.Average(i => i.AnswerProb), items.Select(i => Probability(i.AnswerProb, i.AnswerLoss)));
        if (split.HasParaphrase)
            metrics.AddPerItem($"{p}_Q_A_PARA_Prob", items.Average(i => i.BaseProb), items.Select(i => Probability(i.BaseProb, i.BaseLoss)));
        metrics.AddPerItem($"{p}_Q_A_PERT_Prob", items.Average(i => i.PerturbedProbs.Average()),
            items.Select(i => new JsonObject { ["prob"] = Numbers(i.PerturbedProbs), ["avg_loss"] = Numbers(i.PerturbedLosses) }));
        if (!split.HasParaphrase)
        {
            var normalised = items.Select(formulas.NormalisedProb).ToArray();
            metrics.AddPerItem($"{p}_Q_A_Prob_normalised", normalised.Average(), normalised.Select(v => new JsonObject { ["prob"] = v }));
        }
        metrics.AddPerItem($"{p}_Q_A_ROUGE", items.Average(i => i.RougeLRecall), items.Select(Rouge));
        var ratios = items.Select(formulas.FalseOverTrue).ToArray();
        metrics.AddPerItem(TofuLogSplit.TruthRatioName(p), formulas.TruthRatioScore(ratios, split.Prefix == TofuLogSplit.Forget),
            ratios.Select(r => new JsonObject { ["score"] = r }));
    }

    private static JsonObject Probability(double prob, double loss) => new() { ["prob"] = prob, ["avg_loss"] = loss };

    private static JsonArray Numbers(IEnumerable<double> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    /// <summary>open-unlearning's per-item ROUGE fields (utils.py eval_text_similarity); those the log lacks are left out.</summary>
    private static JsonObject Rouge(TofuLogItem item)
    {
        var fields = new JsonObject();
        if (item.Rouge1Recall is { } rouge1) fields["rouge1_recall"] = rouge1;
        if (item.RougeLF1 is { } f1) fields["rougeL_f1"] = f1;
        fields["rougeL_recall"] = item.RougeLRecall;
        if (item.Text is { } text)
        {
            fields["input"] = text.Input;
            fields["ground_truth"] = text.GroundTruth;
            fields["generation"] = text.Generation;
        }
        return fields;
    }
}
