using SimNpo.Kernels;

namespace SimNpo.Model;

/// <summary>
/// Where carved views come from. Bulk tensors (activations and their gradients) are stored in the model's
/// <see cref="Precision.Bulk"/> storage; statistics (norm inverses, log-sum-exps, token log-probs and their gradients,
/// per-sequence sums and weights, the fused loss's logits scratch) always in the compute type, because every reduction
/// reads or writes them in float32 and bf16 would round them to 2^-8.
/// </summary>
public sealed record ActivationCarving<T>(Func<int, View<T>> Bulk, Func<int, View<T>> Statistics) where T : unmanaged;

/// <summary>Elements of each kind a carving takes: the bulk buffer's and the statistics buffer's lengths.</summary>
public readonly record struct ActivationSize(long BulkElements, long StatisticElements)
{
    /// <summary>Bytes with bulk elements in bulk storage and statistics in a compute type of computeBytes each.</summary>
    public long Bytes(Storage bulk, int computeBytes) => BulkElements * bulk.ElementBytes(computeBytes) + StatisticElements * computeBytes;
}

/// <summary>A carving that hands out no views and only counts what it was asked for: the same carving code, sized.</summary>
internal sealed class CountingCarving<T> where T : unmanaged
{
    private long _bulk;
    private long _statistics;

    public CountingCarving()
        => Carving = new ActivationCarving<T>(length => { _bulk += length; return default; }, length => { _statistics += length; return default; });

    public ActivationCarving<T> Carving { get; }

    public ActivationSize Size => new(_bulk, _statistics);
}

/// <summary>
/// What one transformer block keeps from forward for its backward. A norm keeps 1/rms (RMSNorm) or 1/std and the
/// mean (LayerNorm) per row. A parallel block (Phi) has one norm: its MLP reads the attention's norm output, and
/// <see cref="MlpNorm"/> is that same view. A plain MLP (Phi) has no gate.
/// </summary>
public sealed class LayerActivations<T> where T : unmanaged
{
    public LayerActivations(LlamaConfig config, int batch, int sequenceLength, ActivationCarving<T> take)
    {
        // Sizes beyond int would wrap silently: fail instead.
        checked
        {
            var rows = batch * sequenceLength;
            var family = config.Family;
            AttentionNorm = take.Bulk(rows * config.HiddenSize);
            (AttentionInvRms, AttentionMean) = NormStatistics(config, rows, take);
            Query = take.Bulk(rows * config.QueryWidth);
            Key = take.Bulk(rows * config.KvWidth);
            Value = take.Bulk(rows * config.KvWidth);
            AttentionOutput = take.Bulk(rows * config.QueryWidth);
            AttentionLogSumExp = take.Statistics(batch * config.NumAttentionHeads * sequenceLength);
            Mid = take.Bulk(rows * config.HiddenSize);
            if (family.ParallelBlock) (MlpNorm, MlpInvRms, MlpMean) = (AttentionNorm, AttentionInvRms, AttentionMean);
            else
            {
                MlpNorm = take.Bulk(rows * config.HiddenSize);
                (MlpInvRms, MlpMean) = NormStatistics(config, rows, take);
            }
            Gate = family.GatedMlp ? take.Bulk(rows * config.IntermediateSize) : null;
            Up = take.Bulk(rows * config.IntermediateSize);
            MlpHidden = take.Bulk(rows * config.IntermediateSize);
        }
    }

    /// <summary>A norm's statistics for rows: 1/rms, or 1/std and the mean for a LayerNorm.</summary>
    internal static (View<T> InverseScale, View<T>? Mean) NormStatistics(LlamaConfig config, int rows, ActivationCarving<T> take) =>
        (take.Statistics(rows), config.Family.Norm == Families.NormKind.LayerNorm ? take.Statistics(rows) : null);

    public View<T> AttentionNorm { get; }
    /// <summary>1/rms of each row (1/std for a LayerNorm).</summary>
    public View<T> AttentionInvRms { get; }
    /// <summary>Each row's mean, kept by a LayerNorm only.</summary>
    public View<T>? AttentionMean { get; }
    /// <summary>Queries and keys after the rotary embedding.</summary>
    public View<T> Query { get; }
    public View<T> Key { get; }
    public View<T> Value { get; }
    public View<T> AttentionOutput { get; }
    public View<T> AttentionLogSumExp { get; }
    /// <summary>The residual stream between the attention and the MLP (in a parallel block, input + attention: the MLP adds to it).</summary>
    public View<T> Mid { get; }
    /// <summary>The MLP's input: its own norm's output, or the attention's in a parallel block.</summary>
    public View<T> MlpNorm { get; }
    public View<T> MlpInvRms { get; }
    public View<T>? MlpMean { get; }
    /// <summary>The gate projection of a gated MLP; null in a plain one.</summary>
    public View<T>? Gate { get; }
    /// <summary>The up projection (a plain MLP's first projection, Phi's fc1).</summary>
    public View<T> Up { get; }
    /// <summary>act(gate)·up in a gated MLP, act(up) in a plain one: the down projection's input.</summary>
    public View<T> MlpHidden { get; }
}

/// <summary>The shape activations are carved for: a batch, its scored rows, the head, and what the backward recomputes.</summary>
public sealed record ActivationShape(int Batch, int SequenceLength, int ScoredRows, bool FullLogits, Recompute Recompute = Recompute.None)
{
    public int Rows => checked(Batch * SequenceLength);
}

/// <summary>
/// Every activation of a training step for a batch shape, carved in one fixed order from two buffers (bulk and
/// statistics, see <see cref="ActivationCarving{T}"/>), plus the gradient scratch that backward reuses layer by layer.
/// Logits exist only for the scored rows, and in full only for the heads that need them (KL, callers of the logits):
/// the chunked output loss computes them chunk by chunk in a scratch. With <see cref="Recompute.Layers"/> there is one
/// layer's worth of block activations, which every layer's forward (and recomputed forward) overwrites.
/// </summary>
public sealed class Activations<T> where T : unmanaged
{
    /// <summary>Vocabulary columns of logits alive at once in the chunked output loss: 4096 × 4 bytes per scored row.</summary>
    public const int OutputChunk = 4096;

    private readonly LayerActivations<T>[] _layers;

    public Activations(LlamaConfig config, ActivationShape shape, ActivationCarving<T> take)
    {
        checked
        {
            Shape = shape;
            Attention = config.Attention(shape.Batch, shape.SequenceLength, shape.SequenceLength);
            var rows = shape.Rows;
            var scoredRows = shape.ScoredRows;
            int hidden = config.HiddenSize, ffn = config.IntermediateSize;
            Residuals = Enumerable.Range(0, config.NumHiddenLayers + 1).Select(_ => take.Bulk(rows * hidden)).ToArray();
            var keptLayers = shape.Recompute == Recompute.Layers ? 1 : config.NumHiddenLayers;
            _layers = Enumerable.Range(0, keptLayers).Select(_ => new LayerActivations<T>(config, shape.Batch, shape.SequenceLength, take)).ToArray();
            FinalNorm = take.Bulk(rows * hidden);
            (FinalInvRms, FinalMean) = LayerActivations<T>.NormStatistics(config, rows, take);
            ScoredHidden = take.Bulk(scoredRows * hidden);
            // Full logits are a matmul's output (bulk); the fused loss's chunk scratch is its own float32 workspace.
            Logits = shape.FullLogits ? take.Bulk(LogitsLength(config, shape)) : take.Statistics(LogitsLength(config, shape));
            LogitsLogSumExp = take.Statistics(scoredRows);
            TokenLogProbs = take.Statistics(scoredRows);
            TokenLogProbGrad = take.Statistics(scoredRows);
            SequenceLogProbs = take.Statistics(shape.Batch);
            SequenceWeights = take.Statistics(shape.Batch);

            ProjectionOutput = take.Bulk(rows * hidden);
            ResidualGrad = take.Bulk(rows * hidden);
            NormGrad = take.Bulk(rows * hidden);
            QueryGrad = take.Bulk(rows * config.QueryWidth);
            KeyGrad = take.Bulk(rows * config.KvWidth);
            ValueGrad = take.Bulk(rows * config.KvWidth);
            AttentionOutputGrad = take.Bulk(rows * config.QueryWidth);
            GateGrad = config.Family.GatedMlp ? take.Bulk(rows * ffn) : null;
            UpGrad = take.Bulk(rows * ffn);
            MlpHiddenGrad = take.Bulk(rows * ffn);
            ScoredHiddenGrad = take.Bulk(scoredRows * hidden);
        }
    }

    /// <summary>Elements of each kind the activations of this shape take: the same carving, only counted.</summary>
    public static ActivationSize Count(LlamaConfig config, ActivationShape shape)
    {
        var counter = new CountingCarving<T>();
        _ = new Activations<T>(config, shape, counter.Carving);
        return counter.Size;
    }

    /// <summary>Length of <see cref="Logits"/>: [scored rows, vocab] in full, or the fused loss's chunk scratch.</summary>
    public static int LogitsLength(LlamaConfig config, ActivationShape shape) => shape.FullLogits
        ? checked(shape.ScoredRows * config.VocabSize)
        : ChunkedOutputLoss.ScratchLength(shape.ScoredRows, config.VocabSize, OutputChunk);

    public ActivationShape Shape { get; }
    /// <summary>The attention of every block: each sequence's queries over its own keys, from position 0.</summary>
    public AttentionShape Attention { get; }
    public int Batch => Shape.Batch;
    public int SequenceLength => Shape.SequenceLength;
    public int ScoredRows => Shape.ScoredRows;

    /// <summary>Residuals[0] is the embedding output, Residuals[l + 1] the output of block l.</summary>
    public View<T>[] Residuals { get; }

    /// <summary>The activations block l keeps; with <see cref="Recompute.Layers"/> every block shares one set.</summary>
    public LayerActivations<T> Layer(int l) => _layers[Shape.Recompute == Recompute.Layers ? 0 : l];

    public View<T> FinalNorm { get; }
    public View<T> FinalInvRms { get; }
    public View<T>? FinalMean { get; }
    /// <summary>The final-norm rows that predict a scored token, gathered so logits are computed for them alone.</summary>
    public View<T> ScoredHidden { get; }
    /// <summary>
    /// With FullLogits, the logits of the scored rows [rows, vocab], which backward overwrites with their gradient;
    /// otherwise the chunked output loss's chunk scratch.
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
    public View<T>? GateGrad { get; }
    public View<T> UpGrad { get; }
    public View<T> MlpHiddenGrad { get; }
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
