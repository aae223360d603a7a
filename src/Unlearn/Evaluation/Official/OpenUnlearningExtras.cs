using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// open-unlearning's memorisation and MIA metrics on our own evaluation's items, in its log layout: exact_memorization
/// and extraction_strength on the memorisation items (TOFU: the forget answers; MUSE: the VerbMem passages), and each
/// mia_* attack between the forget and holdout items.
/// </summary>
public static class OpenUnlearningExtras
{
    /// <summary>
    /// One set's statistics from the model (and a reference model for mia_reference): the logits pass, and where asked
    /// one forward and backward per item for the gradient norms (open-unlearning runs those at batch size 1 too). With a
    /// group, each of those passes is split across its ranks (<see cref="ParallelItems"/>) and every rank gets every item's statistics.
    /// </summary>
    public static MiaSetStatistics Measure<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, IReadOnlyList<string> texts, int batchSize,
        int maxLength, bool gradientNorms, LlamaModel<T>? reference = null, ICommunicator? group = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (texts.Count != examples.Count) throw new ArgumentException($"{examples.Count} examples but {texts.Count} texts");
        var tokens = TokenStatistics.Compute(model, examples, batchSize, maxLength, group);
        for (var i = 0; i < tokens.Length; i++)
            if (tokens[i].Count == 0)
                throw new ArgumentException($"item {i} has no answer token left once cut to {maxLength} tokens (its prompt is {examples[i].PromptIds.Count})");
        return new MiaSetStatistics(tokens, texts, gradientNorms ? GradientNorms.Compute(model, examples, maxLength, group) : null,
            // The reference's losses come from the same logits path as the model's, so a model against itself differs by exactly 0.
            reference is null ? null : TokenStatistics.Compute(reference, examples, batchSize, maxLength, group).Select(t => t.AverageLoss).ToArray());
    }

    /// <summary>The metrics in open-unlearning's order of its metric configs: memorisation first (when measured), then the attacks.</summary>
    public static OpenUnlearningMetrics Metrics(MiaSetStatistics? memorisation, MiaSetStatistics? forget, MiaSetStatistics? holdout, double k)
    {
        var metrics = new OpenUnlearningMetrics();
        if (memorisation is not null)
        {
            metrics.Add(Memorization.ExactMemorization, MiaAttacks.Side(memorisation.Tokens.Select(Memorization.ExactMemorizationScore).ToArray()));
            metrics.Add(Memorization.ExtractionStrength,
                MiaAttacks.Side(memorisation.Tokens.Select(t => (double?)Memorization.ExtractionStrengthScore(t)).ToArray()));
        }
        if (forget is null || holdout is null) return metrics;
        var holdoutScores = MiaAttacks.Scores(holdout, k).ToDictionary(a => a.Name, a => a.Scores);
        foreach (var (name, scores) in MiaAttacks.Scores(forget, k))
            if (holdoutScores.TryGetValue(name, out var other)) metrics.Add(name, MiaAttacks.Entry(scores, other));
        return metrics;
    }

    /// <summary>The TOFU privleak entry: this model's mia_min_k AUC against the retain model's (0.5 when not given, as open-unlearning).</summary>
    public static void AddPrivLeak(OpenUnlearningMetrics metrics, double? retainMinKAuc)
    {
        if (metrics.TryGet(MiaAttacks.MinK)?["auc"]?.GetValue<double>() is not { } auc) return;
        metrics.AddValue(PrivLeakName, MiaAttacks.PrivLeak(auc, retainMinKAuc ?? MiaAttacks.DefaultRetainAuc));
    }

    public const string PrivLeakName = "privleak";
}
