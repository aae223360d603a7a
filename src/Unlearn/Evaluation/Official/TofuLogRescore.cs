namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>How many stored ROUGE values a rescore compared, how many it found different, and the largest difference.</summary>
public sealed record RescoreSummary(int Compared, int Differing, double MaxAbsDiff);

/// <summary>
/// Recomputes every per-item value a log's texts determine: ROUGE-1 recall, ROUGE-L recall and F1 of each generation
/// against its ground truth, with rouge_score's tokenizer and nltk's Porter stemmer (use_stemmer=True, as TOFU and
/// open-unlearning score). The recomputed values replace the stored ones; the summary says how far they were.
/// </summary>
public static class TofuLogRescore
{
    public static (TofuLog Log, RescoreSummary Summary) Apply(TofuLog log)
    {
        int compared = 0, differing = 0;
        var maxDiff = 0.0;
        void Compare(double? stored, double recomputed)
        {
            if (stored is not { } value) return;
            compared++;
            var diff = Math.Abs(value - recomputed);
            if (diff != 0) differing++;
            maxDiff = Math.Max(maxDiff, diff);
        }
        // Our reports store only the ROUGE-L recall; their other two fields were computed from the texts when read.
        var storesAll = log.Layout != TofuLogLayout.SimNpo;
        var splits = log.Splits.ToDictionary(s => s.Key, s => s.Value with
        {
            Items = s.Value.Items.Select(item =>
            {
                if (item.Text is not { } text) throw new Model.IO.BadInputException(log.Path, $"{s.Key} item '{item.Index}' has no texts to rescore");
                var rougeL = RougeL.Score(text.Generation, text.GroundTruth, useStemmer: true);
                var rouge1 = Rouge1.Score(text.Generation, text.GroundTruth, useStemmer: true).Recall;
                Compare(item.RougeLRecall, rougeL.Recall);
                if (storesAll)
                {
                    Compare(item.Rouge1Recall, rouge1);
                    Compare(item.RougeLF1, rougeL.F1);
                }
                return item with { RougeLRecall = rougeL.Recall, Rouge1Recall = rouge1, RougeLF1 = rougeL.F1 };
            }).ToArray(),
        });
        return (log with { Splits = splits }, new RescoreSummary(compared, differing, maxDiff));
    }
}
