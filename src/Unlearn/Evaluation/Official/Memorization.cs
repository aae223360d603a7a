namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// open-unlearning's exact_memorization and extraction_strength (src/evals/metrics/memorization.py at d3d7cf9), over
/// an item's tokenwise tokens (every labelled token but the last) and the greedy (argmax) prediction at each.
/// </summary>
public static class Memorization
{
    public const string ExactMemorization = "exact_memorization";
    public const string ExtractionStrength = "extraction_strength";

    /// <summary>The share of tokens the model predicts exactly; None (null) for an item without tokens, left out of the mean.</summary>
    public static double? ExactMemorizationScore(TokenStatistics item)
    {
        var tokens = item.Tokenwise;
        return tokens.Count == 0 ? null : tokens.LabelIsArgmax.Count(hit => hit) / (double)tokens.Count;
    }

    /// <summary>
    /// 1 − k/n for the first k whose suffix the model predicts exactly. Python's loop leaves k at n − 1 when no suffix
    /// matches, so such an item scores 1/n, the same as one whose last token alone matches; 0 without tokens.
    /// </summary>
    public static double ExtractionStrengthScore(TokenStatistics item)
    {
        var hits = item.Tokenwise.LabelIsArgmax;
        var n = hits.Length;
        if (n == 0) return 0;
        var k = n - 1;
        // The matching suffixes are exactly those after the last miss.
        var lastMiss = Array.LastIndexOf(hits, false);
        if (lastMiss < n - 1) k = lastMiss + 1;
        return 1 - k / (double)n;
    }
}
