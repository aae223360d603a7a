namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// ROUGE-1 as Google's rouge_score computes it (rouge_scorer._score_ngrams): the unigram counts both texts share
/// (min of the two counts per token), over the prediction's and the reference's token counts, on RougeL's tokenizer.
/// </summary>
public static class Rouge1
{
    public static RougeScore Score(string prediction, string reference, bool useStemmer)
    {
        var predictionCounts = Counts(RougeL.Tokenize(prediction, useStemmer));
        var referenceCounts = Counts(RougeL.Tokenize(reference, useStemmer));
        var shared = referenceCounts.Sum(pair => Math.Min(pair.Value, predictionCounts.GetValueOrDefault(pair.Key)));
        // max(count, 1) as rouge_score, so that an empty text scores 0 rather than dividing by zero.
        var precision = (double)shared / Math.Max(predictionCounts.Values.Sum(), 1);
        var recall = (double)shared / Math.Max(referenceCounts.Values.Sum(), 1);
        var f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
        return new RougeScore(precision, recall, f1);
    }

    private static Dictionary<string, int> Counts(IReadOnlyList<string> tokens)
    {
        var counts = new Dictionary<string, int>();
        foreach (var token in tokens) counts[token] = counts.GetValueOrDefault(token) + 1;
        return counts;
    }
}
