using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Model;

/// <summary>
/// The decoder graph of every supported family (<see cref="Families.ModelFamily"/>: Llama, Mistral, Qwen2, Phi, Gemma),
/// written once against <see cref="IOps{T}"/>, the family's features choosing the ops: forward over a right-padded
/// batch to the log-prob of every scored token, and backward from per-sequence loss weights to the gradient of every
/// parameter. The block's layers are in LlamaModel.Block.cs.
/// Parameters and gradients are <see cref="ParameterSet{T}"/>s (a few buffers, chunks of <see cref="ParameterLayout"/>);
/// activations two buffers (bulk
/// tensors in the precision's storage, statistics in <typeparamref name="T"/>) carved for each batch shape, reallocated
/// only when a batch needs more.
/// </summary>
public sealed partial class LlamaModel<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private ParameterSet<T>? _gradients;
    private ParameterSet<T>? _masterWeights;
    private readonly ActivationBuffers<T> _activationBuffers;
    private DeviceBuffer<int>? _indexBuffer;
    private Activations<T>? _activations;
    private BatchIndices? _indices;
    private int[] _stagedIndices = [];

    /// <param name="precision">
    /// How weights, activations and gradients are stored (<see cref="Kernels.Precision.Bulk"/>); statistics stay in
    /// <typeparamref name="T"/>. The default is the backend's own type throughout.
    /// </param>
    /// <param name="chunkLength">The most elements of one parameter buffer (<see cref="ParameterLayout"/>); tests make it small.</param>
    public LlamaModel(LlamaConfig config, IOps<T> ops, Precision? precision = null, int chunkLength = ParameterLayout.DefaultChunkLength)
    {
        Config = config;
        Family = config.Family;
        Ops = ops;
        Precision = precision ?? Precision.Fp32;
        if (!ops.Supports(Precision.Bulk))
            throw new NotSupportedException($"the {ops.Name} backend cannot store {Precision.Name} weights and activations");
        Layout = new ParameterLayout(config, chunkLength);
        Parameters = new ParameterSet<T>(Layout, length => ops.Allocate(length, Precision.Bulk));
        _activationBuffers = new ActivationBuffers<T>(ops, Precision.Bulk);
        var frequencies = RopeFrequencies.Compute(config);
        RopeInverseFrequencies = ops.Allocate(frequencies.Length).All;
        RopeInverseFrequencies.CopyFrom(frequencies.Select(T.CreateTruncating).ToArray());
        EmbeddingScale = Family.ScalesEmbedding ? EmbeddingNormalizer(config.HiddenSize, Precision.Bulk) : 1;
    }

    public LlamaConfig Config { get; }
    public Families.ModelFamily Family { get; }

    /// <summary>
    /// What the embeddings are multiplied by: √hidden_size for Gemma, rounded as transformers rounds it (it casts the
    /// normalizer to the hidden states' dtype: float64 keeps it whole, float32 rounds it, and a bf16 model rounds it to
    /// bfloat16, where √3072 = 55.43 becomes 55.5); 1 for the other families.
    /// </summary>
    public double EmbeddingScale { get; }

    private static double EmbeddingNormalizer(int hidden, Storage bulk)
    {
        var normalizer = double.CreateTruncating(T.CreateTruncating(Math.Sqrt(hidden)));
        return bulk == Storage.BFloat16 ? BFloat16.Round((float)normalizer) : normalizer;
    }
    public IOps<T> Ops { get; }
    public Precision Precision { get; }
    public ParameterLayout Layout { get; }
    public ParameterSet<T> Parameters { get; }

    /// <summary>The dtype of the checkpoint the weights were loaded from (null for a model made here): what saving writes by default.</summary>
    public SafeTensors.SafeTensorsDType? StoredDType { get; set; }
    public View<T> RopeInverseFrequencies { get; }

    /// <summary>Allocated at the first backward: a model that only scores or generates needs none.</summary>
    public ParameterSet<T> Gradients => _gradients ??= new ParameterSet<T>(Layout, length => Ops.Allocate(length, Precision.Bulk));

    /// <summary>
    /// The weights in <typeparamref name="T"/> that AdamW updates when <see cref="Precision"/> stores them narrower
    /// (<see cref="Kernels.Precision.HasMasterWeights"/>); the stored weights are their rounding. Allocated at first use
    /// (only training needs them) as the stored weights widened; a loader that has wider values fills them after.
    /// </summary>
    public ParameterSet<T> MasterWeights => _masterWeights ??= CreateMasterWeights();

    /// <summary>Whether <see cref="MasterWeights"/> exist yet (a loader fills them when they do).</summary>
    public bool HasMasterWeights => _masterWeights is not null;

    /// <summary>Frees the master weights: an optimizer that keeps them in slices across ranks (ZeRO stage 1) holds its own.</summary>
    public void ReleaseMasterWeights()
    {
        _masterWeights?.Dispose();
        _masterWeights = null;
    }

    public View<T> Weight(ParameterEntry entry) => Parameters[entry];

    public View<T> Gradient(ParameterEntry entry) => Gradients[entry];

    private ParameterSet<T> CreateMasterWeights()
    {
        if (!Precision.HasMasterWeights) throw new InvalidOperationException($"a {Precision.Name} model updates its weights directly and keeps no master copy");
        var master = new ParameterSet<T>(Layout, length => Ops.Allocate(length));
        master.CopyFrom(Parameters);
        return master;
    }

    /// <summary>
    /// Runs the batch forward to the logits of its scored rows, [scored rows, vocab] in row order, valid until the next
    /// forward. <see cref="Forward"/> never stores them (it fuses the output projection with the loss); this does.
    /// </summary>
    public View<T> ForwardLogits(TokenBatch batch) => ForwardToLogits(batch).Logits;

    /// <summary>
    /// What the backward recomputes instead of keeping (<see cref="Model.Recompute"/>); takes effect at the next forward.
    /// The gradients are the same either way, bit for bit.
    /// </summary>
    public Recompute Recompute { get; set; } = Recompute.None;

    public void ZeroGradients()
    {
        foreach (var chunk in Gradients.Chunks) Ops.Zero(chunk.All);
    }

    /// <summary>
    /// Runs the batch forward to the per-sequence log-probs of the scored answer tokens; its backward runs from the pass
    /// (<see cref="LogProbPass.Backward"/>).
    /// </summary>
    public LogProbPass Forward(TokenBatch batch)
    {
        var activations = ForwardToHidden(batch, fullLogits: false);
        Ops.ChunkedOutputLoss(activations.TokenLogProbs, activations.LogitsLogSumExp, activations.Logits, activations.ScoredHidden,
            Weight(Layout.OutputProjection), OptionalWeight(Layout.OutputBias), _indices!.ScoredTargets, activations.ScoredRows, Config.HiddenSize,
            Config.VocabSize, Activations<T>.OutputChunk);

        // Each sequence's log-prob is the sum of its scored tokens': a scatter-add of width 1 onto the sequences.
        Ops.Zero(activations.SequenceLogProbs);
        Ops.ScatterAddRows(activations.SequenceLogProbs, _indices!.ScoredSequences, activations.TokenLogProbs, 1);
        var logProb = activations.SequenceLogProbs.ToArray().Select(double.CreateTruncating).ToArray();
        return new LogProbPass(this, activations, new SequenceScores(logProb, batch.ScoredCounts()));
    }

    /// <summary>The backward of <see cref="Forward"/>, from its pass (<see cref="LogProbPass.Backward"/>).</summary>
    private void Backward(Activations<T> activations, ReadOnlySpan<double> sequenceWeights)
    {
        if (sequenceWeights.Length != activations.Batch)
            throw new ArgumentException($"expected {activations.Batch} sequence weights, got {sequenceWeights.Length}");
        var weights = new T[activations.Batch];
        for (var i = 0; i < weights.Length; i++) weights[i] = T.CreateTruncating(sequenceWeights[i]);
        activations.SequenceWeights.CopyFrom(weights);
        // Every scored token of sequence i gets its sequence's weight: a gather of width 1.
        Ops.GatherRows(activations.TokenLogProbGrad, _indices!.ScoredSequences, activations.SequenceWeights, 1);
        Ops.Zero(activations.ScoredHiddenGrad);
        Ops.ChunkedOutputLossBackward(activations.ScoredHiddenGrad, Gradient(Layout.OutputProjection), activations.Logits, activations.ScoredHidden,
            Weight(Layout.OutputProjection), OptionalWeight(Layout.OutputBias), OptionalGradient(Layout.OutputBias), activations.LogitsLogSumExp,
            _indices!.ScoredTargets, activations.TokenLogProbGrad, activations.ScoredRows, Config.HiddenSize, Config.VocabSize, Activations<T>.OutputChunk);
        BackwardFromHidden(activations);
    }

    /// <summary>The graph up to the logits of the scored rows, for the heads that need them whole (KL, <see cref="ForwardLogits"/>).</summary>
    private Activations<T> ForwardToLogits(TokenBatch batch)
    {
        var activations = ForwardToHidden(batch, fullLogits: true);
        ProjectToLogits(activations.Logits, activations.ScoredHidden, activations.ScoredRows);
        return activations;
    }

    /// <summary>
    /// The graph up to the final-norm hidden states of the scored rows, shared by every head (log-prob at the labels,
    /// KL to a reference): the heads differ only in what they compute from there and the gradient they send back.
    /// </summary>
    private Activations<T> ForwardToHidden(TokenBatch batch, bool fullLogits)
    {
        _forwards++; // every earlier pass's activations are overwritten from here
        var activations = Prepare(batch, fullLogits);
        var indices = _indices!;
        var ops = Ops;
        Embed(activations.Residuals[0], indices.Tokens);
        for (var l = 0; l < Config.NumHiddenLayers; l++) BlockForward(activations, l, activations.Residuals[l + 1]);
        Normalize(activations.FinalNorm, activations.FinalInvRms, activations.FinalMean, activations.Residuals[^1], Layout.FinalNorm);
        ops.GatherRows(activations.ScoredHidden, indices.ScoredRows, activations.FinalNorm, Config.HiddenSize);
        return activations;
    }

    /// <summary>Block l of a batch forward, from the kept residual stream; output null stops where its backward needs nothing more.</summary>
    private void BlockForward(Activations<T> activations, int l, View<T>? output)
    {
        var layer = activations.Layer(l);
        LayerForward(Layout.Layers[l], layer, activations.Residuals[l], output, (layer.Key, layer.Key), (layer.Value, layer.Value),
            _indices!.Positions, _indices.Lengths, activations.Attention, activations.Shape.Rows, activations.ProjectionOutput);
    }

    /// <summary>Adds to <see cref="Gradients"/> what flows back from the gradient a head has written over the full logits.</summary>
    private void BackwardFromLogits(Activations<T> activations)
    {
        Ops.Zero(activations.ScoredHiddenGrad);
        if (Layout.OutputBias is { } bias) Ops.AddBiasBackward(Gradient(bias), activations.Logits, Config.VocabSize);
        Ops.MatMulBackward(activations.ScoredHiddenGrad, Gradient(Layout.OutputProjection), activations.Logits, activations.ScoredHidden,
            Weight(Layout.OutputProjection), activations.ScoredRows, Config.HiddenSize, Config.VocabSize);
        BackwardFromHidden(activations);
    }

    /// <summary>Adds to <see cref="Gradients"/> what flows back from the gradient of the scored rows' hidden states.</summary>
    private void BackwardFromHidden(Activations<T> activations)
    {
        var indices = _indices!;
        var ops = Ops;
        var rows = activations.Batch * activations.SequenceLength;
        int hidden = Config.HiddenSize;

        ops.Zero(activations.NormGrad);
        ops.ScatterAddRows(activations.NormGrad, indices.ScoredRows, activations.ScoredHiddenGrad, hidden);
        ops.Zero(activations.ResidualGrad);
        NormalizeBackward(activations.ResidualGrad, activations.NormGrad, activations.Residuals[^1], Layout.FinalNorm, activations.FinalInvRms,
            activations.FinalMean);

        for (var l = Config.NumHiddenLayers - 1; l >= 0; l--)
        {
            // The shared layer buffers hold the last block the forward ran: refill them with block l's activations from
            // its kept input (the same ops on the same values: the same bits). Its output is already in Residuals[l + 1].
            if (activations.Shape.Recompute == Recompute.Layers) BlockForward(activations, l, output: null);
            LayerBackward(Layout.Layers[l], activations.Layer(l), activations.Residuals[l], activations, indices, rows);
        }
        // The embedding output was scaled (Gemma): so is the gradient that reaches the table.
        if (Family.ScalesEmbedding) ops.Scale(activations.ResidualGrad, EmbeddingScale);
        ops.ScatterAddRows(Gradient(Layout.Embedding), indices.Tokens, activations.ResidualGrad, hidden);
    }

    /// <summary>
    /// Uploads the batch's integers and makes sure the activations fit its shape and head. The index arrays are built in
    /// a host staging array kept between batches, so a training step allocates nothing here.
    /// </summary>
    private Activations<T> Prepare(TokenBatch batch, bool fullLogits)
    {
        if (batch.SequenceLength > Config.MaxSequenceLength)
            throw new ArgumentException($"a sequence of {batch.SequenceLength} tokens is longer than the model's {Config.MaxSequenceLengthSource}");
        var rows = batch.Rows;
        if (_stagedIndices.Length < 4 * rows) _stagedIndices = new int[4 * rows];
        var positions = _stagedIndices.AsSpan(0, rows);
        var scoredRows = _stagedIndices.AsSpan(rows, rows);
        var targets = _stagedIndices.AsSpan(2 * rows, rows);
        var sequenceOfRow = _stagedIndices.AsSpan(3 * rows, rows);
        var scored = 0;
        for (var r = 0; r < rows; r++)
        {
            positions[r] = r % batch.SequenceLength;
            if (batch.Targets[r] < 0) continue;
            if (batch.Targets[r] >= Config.VocabSize)
                throw new ArgumentException($"target token {batch.Targets[r]} is outside the vocabulary of {Config.VocabSize}");
            scoredRows[scored] = r;
            targets[scored] = batch.Targets[r];
            sequenceOfRow[scored] = r / batch.SequenceLength;
            scored++;
        }
        foreach (var token in batch.Tokens)
            if (token < 0 || token >= Config.VocabSize) throw new ArgumentException($"token {token} is outside the vocabulary of {Config.VocabSize}");

        var shape = new ActivationShape(batch.Batch, batch.SequenceLength, scored, fullLogits, Recompute);
        if (_activations?.Shape != shape)
        {
            // A new shape is carved anew from the same buffers (ActivationBuffers: they grow only when it needs more).
            // Every view is written (or zeroed) before it is read.
            _activations = _activationBuffers.Carve(take => new Activations<T>(Config, shape, take), size =>
            {
                FitsOneBuffer(size.BulkElements, "activation", shape);
                FitsOneBuffer(size.StatisticElements, "statistic", shape);
            });
            var indexSize = BatchIndices.Count(batch.Batch, batch.SequenceLength, scored);
            if (_indexBuffer is null || _indexBuffer.Length < indexSize)
            {
                _indexBuffer?.Dispose();
                _indexBuffer = Ops.AllocateInts(indexSize);
            }
            _indices = new BatchIndices(batch.Batch, batch.SequenceLength, scored, new ViewCarver<int>(_indexBuffer).Take);
        }
        var indices = _indices!;
        indices.Tokens.CopyFrom(batch.Tokens);
        indices.Positions.CopyFrom(positions);
        indices.Lengths.CopyFrom(batch.Lengths);
        indices.ScoredRows.CopyFrom(scoredRows[..scored]);
        indices.ScoredTargets.CopyFrom(targets[..scored]);
        indices.ScoredSequences.CopyFrom(sequenceOfRow[..scored]);
        return _activations;
    }

    private static void FitsOneBuffer(long length, string kind, ActivationShape shape)
    {
        if (length > Array.MaxLength)
            throw new NotSupportedException($"batch {shape.Batch} x {shape.SequenceLength} needs {length:N0} {kind} elements, "
                + $"more than one buffer holds ({Array.MaxLength:N0})"
                    + (shape.Recompute == Recompute.None ? ": recompute the layers or use a smaller batch" : ": use a smaller batch"));
    }

    public void Dispose()
    {
        Parameters.Dispose();
        _gradients?.Dispose();
        _masterWeights?.Dispose();
        _activationBuffers.Dispose();
        _indexBuffer?.Dispose();
        RopeInverseFrequencies.Buffer.Dispose();
    }
}
