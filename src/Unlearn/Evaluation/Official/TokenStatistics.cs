using System.Numerics;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Evaluation.Official;

/// <summary>
/// What open-unlearning's memorisation and MIA metrics read at each scored (answer) token of one item: the label's
/// log-prob, the mean and variance of log p over the whole vocabulary (Min-K%++), and whether the label is the argmax
/// (exact memorisation, extraction strength). Computed in double from the logits row.
/// </summary>
public sealed record TokenStatistics(double[] LogProbs, double[] VocabMean, double[] VocabVariance, bool[] LabelIsArgmax)
{
    public int Count => LogProbs.Length;

    /// <summary>
    /// open-unlearning's evaluate_probability avg_loss: −mean log-prob over every labelled token. (An answer cut away
    /// entirely has none; TOFU's and MUSE's never are, and the caller refuses it.)
    /// </summary>
    public double AverageLoss => Count > 0 ? -LogProbs.Average() : throw new InvalidOperationException("an item has no scored token");

    /// <summary>
    /// The tokens its tokenwise_logprobs and tokenwise_vocab_logprobs keep: every labelled token but the last ("−1 to
    /// ignore eos prediction", src/evals/metrics/utils.py at d3d7cf9). Our TOFU answers end with EOS, as theirs do; MUSE
    /// texts do not, and there, as in open-unlearning, the last text token is the one dropped.
    /// </summary>
    public TokenStatistics Tokenwise => Count == 0 ? this : new(LogProbs[..^1], VocabMean[..^1], VocabVariance[..^1], LabelIsArgmax[..^1]);

    /// <summary>Elements of logits one pass may download: 2^28 floats (1 GiB), at least one example a pass.</summary>
    public const long LogitsBudget = 1L << 28;

    /// <summary>
    /// Per example, from forward passes to the logits of the scored rows (grouped by length, results in order). With a
    /// group, the batches (those of one process) are split across its ranks and every rank gets every example's statistics.
    /// </summary>
    public static TokenStatistics[] Compute<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, int batchSize, int maxLength,
        ICommunicator? group = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var vocab = model.Config.VocabSize;
        return ParallelItems.MapBatches(group, examples.Count, Batches(examples, batchSize, maxLength, vocab), chunk =>
        {
            var batch = TokenBatch.FromExamples(chunk.Select(i => examples[i]).ToArray(), maxLength);
            var logits = model.ForwardLogits(batch).ToArray();
            var targets = batch.Targets.Where(t => t >= 0).ToArray();
            var counts = batch.ScoredCounts();
            var statistics = new TokenStatistics[chunk.Length];
            var row = 0;
            for (var b = 0; b < chunk.Length; b++)
            {
                statistics[b] = FromRows(logits, targets, row, counts[b], vocab);
                row += counts[b];
            }
            return statistics;
        }, Codec, ("token statistics", "batches"));
    }

    /// <summary>
    /// The examples' indices by length, cut into batches of as many as the batch size and the logits budget allow (the
    /// longest of them sets the padded length).
    /// </summary>
    private static int[][] Batches(IReadOnlyList<TokenizedExample> examples, int batchSize, int maxLength, int vocab)
    {
        var byLength = Enumerable.Range(0, examples.Count).OrderBy(i => examples[i].Length).ToArray();
        var batches = new List<int[]>();
        for (var start = 0; start < byLength.Length;)
        {
            var count = 1;
            while (count < batchSize && start + count < byLength.Length
                && (long)(count + 1) * Math.Min(examples[byLength[start + count]].Length, maxLength) * vocab <= LogitsBudget) count++;
            batches.Add(byLength[start..(start + count)]);
            start += count;
        }
        return [.. batches];
    }

    /// <summary>One item's statistics between ranks: the three arrays of doubles bit for bit, then the argmax flags.</summary>
    public static readonly ItemCodec<TokenStatistics> Codec = new((writer, item) =>
    {
        foreach (var values in (double[][])[item.LogProbs, item.VocabMean, item.VocabVariance]) ItemCodecs.Doubles.Write(writer, values);
        foreach (var hit in item.LabelIsArgmax) writer.Write(hit);
    }, reader =>
    {
        var (logProbs, means, variances) = (ItemCodecs.Doubles.Read(reader), ItemCodecs.Doubles.Read(reader), ItemCodecs.Doubles.Read(reader));
        var isArgmax = new bool[logProbs.Length];
        for (var i = 0; i < isArgmax.Length; i++) isArgmax[i] = reader.ReadBoolean();
        return new TokenStatistics(logProbs, means, variances, isArgmax);
    });

    /// <summary>The statistics of rows [first, first + count) of [rows, vocab] logits whose labels are targets[row].</summary>
    public static TokenStatistics FromRows<T>(T[] logits, int[] targets, int first, int count, int vocab) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (logProbs, means, variances, isArgmax) = (new double[count], new double[count], new double[count], new bool[count]);
        var logP = new double[vocab];
        for (var r = 0; r < count; r++)
        {
            var values = logits.AsSpan((first + r) * vocab, vocab);
            // torch.argmax: the first index of the maximum.
            var argmax = 0;
            for (var v = 1; v < vocab; v++) if (values[v] > values[argmax]) argmax = v;
            var max = double.CreateTruncating(values[argmax]);
            var sum = 0.0;
            for (var v = 0; v < vocab; v++) sum += Math.Exp(double.CreateTruncating(values[v]) - max);
            var logSumExp = max + Math.Log(sum);
            for (var v = 0; v < vocab; v++) logP[v] = double.CreateTruncating(values[v]) - logSumExp;
            // mu = Σ p·log p and σ² = Σ p·(log p)² − mu², as min_k_plus_plus.py forms them (its clamp is the attack's).
            double mean = 0, second = 0;
            for (var v = 0; v < vocab; v++)
            {
                var p = Math.Exp(logP[v]);
                mean += p * logP[v];
                second += p * logP[v] * logP[v];
            }
            var target = targets[first + r];
            (logProbs[r], means[r], variances[r], isArgmax[r]) = (logP[target], mean, second - mean * mean, argmax == target);
        }
        return new TokenStatistics(logProbs, means, variances, isArgmax);
    }
}
