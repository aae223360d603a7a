namespace SimNpo.Unlearn.Evaluation;

public readonly record struct RougeScore(double Precision, double Recall, double F1);

/// <summary>
/// ROUGE-L as Google's rouge_score computes it: precision, recall and F1 of the longest common subsequence of the two
/// token lists. TOFU scores with use_stemmer=True, MUSE with use_stemmer=False.
/// </summary>
public static class RougeL
{
    public static RougeScore Score(string prediction, string reference, bool useStemmer)
    {
        var predictionTokens = Tokenize(prediction, useStemmer);
        var referenceTokens = Tokenize(reference, useStemmer);
        if (predictionTokens.Count == 0 || referenceTokens.Count == 0) return new RougeScore(0, 0, 0);
        double common = LongestCommonSubsequence(referenceTokens, predictionTokens);
        var precision = common / predictionTokens.Count;
        var recall = common / referenceTokens.Count;
        // Same operations in the same order as rouge_score, so the doubles agree to the last bit.
        var f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
        return new RougeScore(precision, recall, f1);
    }

    /// <summary>
    /// rouge_score's tokenizer: Python's lower(), every run of characters other than a-z and 0-9 a separator, and with
    /// useStemmer tokens longer than 3 characters Porter-stemmed.
    /// </summary>
    public static IReadOnlyList<string> Tokenize(string text, bool useStemmer)
    {
        var tokens = new List<string>();
        var current = new System.Text.StringBuilder();
        void EndToken()
        {
            if (current.Length == 0) return;
            var token = current.ToString();
            tokens.Add(useStemmer && token.Length > 3 ? PorterStemmer.Stem(token) : token);
            current.Clear();
        }
        foreach (var c in text)
        {
            switch (c)
            {
                case >= 'a' and <= 'z' or >= '0' and <= '9':
                    current.Append(c);
                    break;
                case >= 'A' and <= 'Z':
                    current.Append((char)(c + ('a' - 'A')));
                    break;
                // The only other characters Python lower-cases to ASCII: the Kelvin sign to 'k', and the dotted
                // capital I to 'i' followed by a combining dot, which separates.
                case '\u212A':
                    current.Append('k');
                    break;
                case '\u0130':
                    current.Append('i');
                    EndToken();
                    break;
                default:
                    EndToken();
                    break;
            }
        }
        EndToken();
        return tokens;
    }

    private static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var previous = new int[b.Count + 1];
        var current = new int[b.Count + 1];
        foreach (var x in a)
        {
            for (var j = 0; j < b.Count; j++)
                current[j + 1] = x == b[j] ? previous[j] + 1 : Math.Max(previous[j + 1], current[j]);
            (previous, current) = (current, previous);
        }
        return previous[b.Count];
    }
}

/// <summary>
/// ROUGE-1 as rouge_score's _score_ngrams computes it: the clipped unigram overlap over each side's count (at least 1),
/// on the same tokens as ROUGE-L. open-unlearning and TOFU log its recall beside ROUGE-L's.
/// </summary>
public static class Rouge1
{
    public static RougeScore Score(string prediction, string reference, bool useStemmer)
    {
        var predictionCounts = RougeL.Tokenize(prediction, useStemmer).CountBy(t => t).ToDictionary();
        var referenceTokens = RougeL.Tokenize(reference, useStemmer);
        double overlap = referenceTokens.CountBy(t => t).Sum(r => Math.Min(r.Value, predictionCounts.GetValueOrDefault(r.Key)));
        var precision = overlap / Math.Max(predictionCounts.Values.Sum(), 1);
        var recall = overlap / Math.Max(referenceTokens.Count, 1);
        var f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
        return new RougeScore(precision, recall, f1);
    }
}
