using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Model.Generation;

/// <summary>
/// Autoregressive generation with a KV cache: the prompt runs through the graph once (prefill), then each new token
/// is one position attending to the cached keys and values. Logits are computed for the last position only.
/// </summary>
public sealed class Generator<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LlamaModel<T> _model;
    private readonly DeviceBuffer<T> _cache;
    private readonly View<T>[] _keys;
    private readonly View<T>[] _values;
    private StepBuffers? _decode;
    private StepBuffers? _prefill;

    public Generator(LlamaModel<T> model, int capacity)
    {
        var config = model.Config;
        if (capacity < 1 || capacity > config.MaxSequenceLength)
            throw new ArgumentOutOfRangeException(nameof(capacity),
                $"prompt plus new tokens ({capacity}) must be between 1 and the model's {config.MaxSequenceLengthSource}");
        _model = model;
        Capacity = capacity;
        // Keys and values are bulk tensors: a bf16 model caches them in bf16.
        _cache = model.Ops.Allocate(checked(2 * config.NumHiddenLayers * capacity * config.KvWidth), model.Precision.Bulk);
        var carver = new ViewCarver<T>(_cache);
        _keys = Enumerable.Range(0, config.NumHiddenLayers).Select(_ => carver.Take(capacity * config.KvWidth)).ToArray();
        _values = Enumerable.Range(0, config.NumHiddenLayers).Select(_ => carver.Take(capacity * config.KvWidth)).ToArray();
    }

    public int Capacity { get; }

    /// <summary>
    /// Yields new tokens until pickNext returns an end-of-sequence id (which is yielded too), maxNewTokens have been
    /// produced, or the cache is full. pickNext sees the logits of the last position.
    /// </summary>
    public IEnumerable<int> Generate(IReadOnlyList<int> prompt, int maxNewTokens, Func<float[], int> pickNext)
    {
        if (prompt.Count == 0) throw new ArgumentException("generation needs at least one prompt token (BOS)");
        if (prompt.Count >= Capacity)
            throw new ArgumentException(
                $"the prompt ({prompt.Count} tokens) leaves no room in a cache of {Capacity} (the model's {_model.Config.MaxSequenceLengthSource})");
        var logits = Step(prompt, 0);
        for (var produced = 0; produced < maxNewTokens; produced++)
        {
            var next = pickNext(logits);
            yield return next;
            var position = prompt.Count + produced;
            if (_model.Config.IsEndOfSequence(next) || position + 1 >= Capacity) yield break;
            logits = Step([next], position);
        }
    }

    /// <summary>Runs tokens at positions start.. through every block, filling the cache, and returns the last position's logits.</summary>
    private float[] Step(IReadOnlyList<int> tokens, int start)
    {
        var config = _model.Config;
        var ops = _model.Ops;
        var layout = _model.Layout;
        var rows = tokens.Count;
        var buffers = Buffers(rows);
        buffers.Indices.Tokens.CopyFrom(tokens.ToArray());
        buffers.Indices.Positions.CopyFrom(Enumerable.Range(start, rows).ToArray());
        buffers.Indices.Lengths.CopyFrom([start + rows]);
        var (current, next) = (buffers.Residual, buffers.NextResidual);
        ops.GatherRows(current, buffers.Indices.Tokens, _model.Weight(layout.Embedding), config.HiddenSize);
        var shape = config.Attention(1, rows, Capacity, start);
        for (var l = 0; l < config.NumHiddenLayers; l++)
        {
            var keyWrite = _keys[l].Slice(start * config.KvWidth, rows * config.KvWidth);
            var valueWrite = _values[l].Slice(start * config.KvWidth, rows * config.KvWidth);
            _model.LayerForward(layout.Layers[l], buffers.Layer, current, next, (keyWrite, _keys[l]), (valueWrite, _values[l]),
                buffers.Indices.Positions, buffers.Indices.Lengths, shape, rows, buffers.Projection);
            (current, next) = (next, current);
        }
        var last = current.Slice((rows - 1) * config.HiddenSize, config.HiddenSize);
        ops.RmsNorm(buffers.FinalNorm, buffers.FinalInvRms, last, _model.Weight(layout.FinalNorm), config.HiddenSize, (float)config.RmsNormEps,
            0);
        ops.MatMul(buffers.Logits, buffers.FinalNorm, _model.Weight(layout.OutputProjection), 1, config.HiddenSize, config.VocabSize);
        return buffers.Logits.ToArray().Select(float.CreateTruncating).ToArray();
    }

    /// <summary>
    /// Scratch for a step: one set for single tokens, and one for the prefill, kept while prompts have its length (an
    /// evaluation reuses one generator for prompts of many lengths; keeping one set per length would grow without end).
    /// </summary>
    private StepBuffers Buffers(int rows)
    {
        if (rows == 1) return _decode ??= new StepBuffers(_model, 1);
        if (_prefill?.Rows != rows)
        {
            _prefill?.Dispose();
            _prefill = new StepBuffers(_model, rows);
        }
        return _prefill;
    }

    public void Dispose()
    {
        _cache.Dispose();
        _decode?.Dispose();
        _prefill?.Dispose();
    }

    /// <summary>Bulk tensors in the model's storage, the norms' statistics in the compute type, as in a training step.</summary>
    private sealed class StepBuffers : IDisposable
    {
        private readonly ActivationBuffers<T> _buffers;
        private readonly DeviceBuffer<int> _ints;

        public StepBuffers(LlamaModel<T> model, int rows)
        {
            Rows = rows;
            _buffers = new ActivationBuffers<T>(model.Ops, model.Precision.Bulk);
            (Layer, Residual, NextResidual, Projection, FinalNorm, FinalInvRms, Logits) = _buffers.Carve(take => Carve(model.Config, rows, take));
            _ints = model.Ops.AllocateInts(BatchIndices.Count(1, rows, 0));
            Indices = new BatchIndices(1, rows, 0, new ViewCarver<int>(_ints).Take);
        }

        private static (LayerActivations<T>, View<T>, View<T>, View<T>, View<T>, View<T>, View<T>) Carve(LlamaConfig config, int rows,
            ActivationCarving<T> take)
        {
            // Shaped as one sequence of `rows` queries; its own key and value views go unused (the cache holds them).
            var layer = new LayerActivations<T>(config, 1, rows, take);
            return (layer, take.Bulk(rows * config.HiddenSize), take.Bulk(rows * config.HiddenSize), take.Bulk(rows * config.HiddenSize),
                take.Bulk(config.HiddenSize), take.Statistics(1), take.Bulk(config.VocabSize));
        }

        public int Rows { get; }
        public LayerActivations<T> Layer { get; }
        public View<T> Residual { get; }
        public View<T> NextResidual { get; }
        public View<T> Projection { get; }
        public View<T> FinalNorm { get; }
        public View<T> FinalInvRms { get; }
        public View<T> Logits { get; }
        public BatchIndices Indices { get; }

        public void Dispose()
        {
            _buffers.Dispose();
            _ints.Dispose();
        }
    }
}
