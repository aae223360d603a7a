namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// MUSE's settings for one corpus, as swj0419/muse_bench (commit fcd6651d) runs them: eval.py's eval_model defaults
/// (VerbMem 128 new tokens, KnowMem 32, both scored by mean ROUGE-L F1 without stemming, metrics/logger.py), PrivLeak on
/// forget_holdout_Min-40% (metrics/privleak.py) against constants.py AUC_RETRAIN, KnowMem's few-shot prompt from the
/// *_icl.json examples (metrics/knowmem.py), the VerbMem reference cut to the generated length (metrics/verbmem.py),
/// and baselines/scripts/unlearn_{news,books}.sh's MAX_LEN 2048 for the training chunks of raw/forget.txt.
/// The two corpora differ only in the retrained model's AUC.
/// </summary>
public sealed record MuseCorpus(string Name, double RetrainAuc)
{
    public int VerbMemNewTokens => 128;
    public int KnowMemNewTokens => 32;
    public double MinK => MinKProbability.DefaultK;
    /// <summary>MAX_LEN of the unlearning scripts: forget.txt is cut into chunks of this many tokens (BOS included).</summary>
    public int TrainingChunkLength => 2048;

    /// <summary>AUC_RETRAIN['news']['forget_holdout_Min-40%'] (equal to the retrained model's privleak/auc.json).</summary>
    public static readonly MuseCorpus News = new("news", 0.47719999999999996);

    /// <summary>AUC_RETRAIN['books']['forget_holdout_Min-40%'].</summary>
    public static readonly MuseCorpus Books = new("books", 0.5392999999999999);

    public static IReadOnlyList<MuseCorpus> All { get; } = [News, Books];

    public static MuseCorpus Parse(string name) => All.FirstOrDefault(c => c.Name == name)
        ?? throw new ArgumentException($"unknown MUSE corpus '{name}' (known: {string.Join(", ", All.Select(c => c.Name))})");
}
