using SimNpo.Kernels;

namespace SimNpo.Model;

/// <summary>What one transformer block keeps from forward for its backward.</summary>
public sealed class LayerActivations<T> where T : unmanaged
{
    public LayerActivations(LlamaConfig config, int batch, int sequenceLength, Func<int, View<T>> take)
    {
        // Sizes beyond int would wrap silently: fail instead.
        checked
        {
            var rows = batch * sequenceLength;
            AttentionNorm = take(rows * config.HiddenSize);
            AttentionInvRms = take(rows);
            Query = take(rows * config.QueryWidth);
            Key = take(rows * config.KvWidth);
            Value = take(rows * config.KvWidth);
            AttentionOutput = take(rows * config.QueryWidth);
            AttentionLogSumExp = take(batch * config.NumAttentionHeads * sequenceLength);
            Mid = take(rows * config.HiddenSize);
            MlpNorm = take(rows * config.HiddenSize);
            MlpInvRms = take(rows);
            Gate = take(rows * config.IntermediateSize);
            Up = take(rows * config.IntermediateSize);
            SwiGlu = take(rows * config.IntermediateSize);
        }
    }

    public View<T> AttentionNorm { get; }
    public View<T> AttentionInvRms { get; }
    /// <summary>Queries and keys after the rotary embedding.</summary>
    public View<T> Query { get; }
    public View<T> Key { get; }
    public View<T> Value { get; }
    public View<T> AttentionOutput { get; }
    public View<T> AttentionLogSumExp { get; }
    /// <summary>The residual stream between the attention and the MLP.</summary>
    public View<T> Mid { get; }
    public View<T> MlpNorm { get; }
    public View<T> MlpInvRms { get; }
    public View<T> Gate { get; }
    public View<T> Up { get; }
    public View<T> SwiGlu { get; }
}

/// <summary>
/// Every activation of a training step for a batch shape, carved from one buffer in one fixed order, plus the
/// gradient scratch that backward reuses layer by layer. Logits exist only for the scored rows, and in full only for
/// the heads that need them (KL, callers of the logits): the log-prob head computes them chunk by chunk in a scratch.
/// </summary>
public sealed class Activations<T> where T : unmanaged
{
    /// <summary>Vocabulary columns of logits alive at once in the fused output loss: 4096 × 4 bytes per scored row.</summary>
    public const int OutputChunk = 4096;

    public Activations(LlamaConfig config, int batch, int sequenceLength, int scoredRows, bool fullLogits, Func<int, View<T>> take)
    {
        checked
        {
            Batch = batch;
            FullLogits = fullLogits;
            SequenceLength = sequenceLength;
            ScoredRows = scoredRows;
            var rows = batch * sequenceLength;
            int hidden = config.HiddenSize, ffn = config.IntermediateSize;
            Residuals = Enumerable.Range(0, config.NumHiddenLayers + 1).Select(_ => take(rows * hidden)).ToArray();
            Layers = Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new LayerActivations<T>(config, batch, sequenceLength, take)).ToArray();
            FinalNorm = take(rows * hidden);
            FinalInvRms = take(rows);
            ScoredHidden = take(scoredRows * hidden);
            Logits = take(fullLogits ? scoredRows * config.VocabSize : ChunkedOutputLoss.ScratchLength(scoredRows, config.VocabSize, OutputChunk));
            LogitsLogSumExp = take(scoredRows);
            TokenLogProbs = take(scoredRows);
            TokenLogProbGrad = take(scoredRows);
            SequenceLogProbs = take(batch);
            SequenceWeights = take(batch);

            ProjectionOutput = take(rows * hidden);
            ResidualGrad = take(rows * hidden);
            NormGrad = take(rows * hidden);
            QueryGrad = take(rows * config.QueryWidth);
            KeyGrad = take(rows * config.KvWidth);
            ValueGrad = take(rows * config.KvWidth);
            AttentionOutputGrad = take(rows * config.QueryWidth);
            GateGrad = take(rows * ffn);
            UpGrad = take(rows * ffn);
            SwiGluGrad = take(rows * ffn);
            ScoredHiddenGrad = take(scoredRows * hidden);
        }
    }

    /// <summary>Elements (of T) the activations of this shape take: the same carving, only counted.</summary>
    public static long Count(LlamaConfig config, int batch, int sequenceLength, int scoredRows, bool fullLogits)
    {
        long total = 0;
        _ = new Activations<T>(config, batch, sequenceLength, scoredRows, fullLogits, length =>
        {
            total += length;
            return default;
        });
        return total;
    }

    public int Batch { get; }
    public int SequenceLength { get; }
    public int ScoredRows { get; }
    public bool FullLogits { get; }

    /// <summary>Residuals[0] is the embedding output, Residuals[l + 1] the output of block l.</summary>
    public View<T>[] Residuals { get; }
    public LayerActivations<T>[] Layers { get; }
    public View<T> FinalNorm { get; }
    public View<T> FinalInvRms { get; }
    /// <summary>The final-norm rows that predict a scored token, gathered so logits are computed for them alone.</summary>
    public View<T> ScoredHidden { get; }
    /// <summary>
    /// With FullLogits, the logits of the scored rows [rows, vocab], which backward overwrites with their gradient;
    /// otherwise the fused output loss's chunk scratch.
    /// </summary>
    public View<T> Logits { get; }
    public View<T> LogitsLogSumExp { get; }
    public View<T> TokenLogProbs { get; }
    public View<T> TokenLogProbGrad { get; }
    /// <summary>log πθ(y_i|x_i) per sequence, summed on the device: all a step copies back besides the loss terms.</summary>
    public View<T> SequenceLogProbs { get; }
    /// <summary>dLoss/dlog πθ(y_i|x_i) per sequence, from the objective; gathered to every token of the sequence.</summary>
    public View<T> SequenceWeights { get; }

    public View<T> ProjectionOutput { get; }
    public View<T> ResidualGrad { get; }
    public View<T> NormGrad { get; }
    public View<T> QueryGrad { get; }
    public View<T> KeyGrad { get; }
    public View<T> ValueGrad { get; }
    public View<T> AttentionOutputGrad { get; }
    public View<T> GateGrad { get; }
    public View<T> UpGrad { get; }
    public View<T> SwiGluGrad { get; }
    public View<T> ScoredHiddenGrad { get; }
}

/// <summary>The integer inputs of a batch on the device: tokens, positions, lengths, and the scored rows with their targets.</summary>
public sealed class BatchIndices
{
    public BatchIndices(int batch, int sequenceLength, int scoredRows, Func<int, View<int>> take)
    {
        var rows = batch * sequenceLength;
        Tokens = take(rows);
        Positions = take(rows);
        Lengths = take(batch);
        ScoredRows = take(scoredRows);
        ScoredTargets = take(scoredRows);
        ScoredSequences = take(scoredRows);
    }

    /// <summary>Elements the indices of this shape take.</summary>
    public static int Count(int batch, int sequenceLength, int scoredRows) => 2 * batch * sequenceLength + batch + 3 * scoredRows;

    public View<int> Tokens { get; }
    public View<int> Positions { get; }
    public View<int> Lengths { get; }
    public View<int> ScoredRows { get; }
    public View<int> ScoredTargets { get; }
    /// <summary>The sequence each scored row belongs to: the per-sequence reduction scatters over it, its backward gathers.</summary>
    public View<int> ScoredSequences { get; }
}
