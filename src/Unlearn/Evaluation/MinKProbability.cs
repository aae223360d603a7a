namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// Min-K% Prob (Shi et al.), MUSE's membership score: minus the mean of the lowest k share of a text's token
/// log-probs. Text the model was trained on has few very unlikely tokens, so a low score suggests membership.
/// </summary>
public static class MinKProbability
{
    /// <summary>MUSE's PrivLeak setting.</summary>
    public const double DefaultK = 0.4;

    /// <summary>−mean of the ⌊k·n⌋ lowest log-probs, at least one of them (a short text still gets a score).</summary>
    public static double Score(IReadOnlyList<double> tokenLogProbs, double k = DefaultK)
    {
        if (tokenLogProbs.Count == 0) throw new ArgumentException("Min-K% needs at least one token log-prob", nameof(tokenLogProbs));
        if (!(k > 0 && k <= 1)) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be in (0, 1]");
        var count = Math.Max(1, (int)Math.Floor(k * tokenLogProbs.Count));
        return -tokenLogProbs.Order().Take(count).Average();
    }
}
