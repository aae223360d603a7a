using System.Numerics;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.SafeTensors;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// <see cref="AdamWOptimizer{T}"/> with its state sharded across the ranks of a data-parallel group (ZeRO stage 1,
/// --shard-optimizer): rank r keeps the moments and float32 master weights of its <see cref="ParameterShard"/> only
/// (the range [⌊r·P/N⌋, ⌊(r+1)·P/N⌋) of the P parameters in the layout's order), updates that slice after the gradients
/// are all-reduced, and all-gathers the updated weights so that every rank holds the whole model again. Every rank holds
/// the same reduced gradients, so the norm, the clipping and each element's update are the same operations on the same
/// values as unsharded: the weights, and the state file this writes, are bitwise those of <see cref="AdamWOptimizer{T}"/>.
/// Every member is collective.
/// </summary>
public sealed class ShardedAdamWOptimizer<T> : IParameterOptimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LlamaModel<T> _model;
    private readonly ICommunicator _group;
    private readonly ShardBuffers<T> _first;
    private readonly ShardBuffers<T> _second;
    private readonly ShardBuffers<T>? _master;
    private readonly IReadOnlyList<ShardRun> _runs;

    /// <param name="momentStorage">How the moments are stored: T (as torch) or bfloat16 (--optimizer-state bf16).</param>
    public ShardedAdamWOptimizer(LlamaModel<T> model, AdamWSettings settings, ICommunicator group, Storage momentStorage = Storage.Native)
    {
        settings.Validate();
        if (!model.Ops.Supports(momentStorage))
            throw new NotSupportedException($"the {model.Ops.Name} backend cannot store AdamW moments as {momentStorage}");
        _model = model;
        _group = group;
        Settings = settings;
        Shard = new ParameterShard(model.Layout, group.Rank, group.Size);
        var owned = new List<IDisposable>();
        try
        {
            _first = Own(new ShardBuffers<T>(Shard, length => model.Ops.Allocate(length, momentStorage)));
            _second = Own(new ShardBuffers<T>(Shard, length => model.Ops.Allocate(length, momentStorage)));
            if (model.Precision.HasMasterWeights)
            {
                _master = Own(new ShardBuffers<T>(Shard, length => model.Ops.Allocate(length)));
                // The loaded float32 values when the model has them (a float32 checkpoint's low bits), else its weights widened,
                // as the model's own master weights start; then the whole copy goes, which is the point.
                _master.CopyFrom(model.HasMasterWeights ? model.MasterWeights : model.Parameters);
                model.ReleaseMasterWeights();
            }
        }
        catch
        {
            foreach (var buffers in owned) buffers.Dispose();
            throw;
        }
        _runs = ShardRun.Of(AdamWOptimizer<T>.DecayRun.Of(model.Layout, settings), Shard);

        ShardBuffers<T> Own(ShardBuffers<T> buffers)
        {
            owned.Add(buffers);
            return buffers;
        }
    }

    public AdamWSettings Settings { get; }

    /// <summary>The parameters this rank updates.</summary>
    public ParameterShard Shard { get; }

    public int StepCount { get; private set; }

    public bool IsSharded => true;

    /// <summary>
    /// Clips the (reduced, identical on every rank) gradients, updates this rank's slice and all-gathers the weights.
    /// Returns the gradient norm before clipping; a non-finite one throws on every rank before anything changes.
    /// </summary>
    public double Step(double learningRate)
    {
        if (!double.IsFinite(learningRate) || learningRate < 0)
            throw new ArgumentOutOfRangeException(nameof(learningRate), $"learning rate must be finite and non-negative, got {learningRate}");
        var norm = AdamWOptimizer<T>.ClipGradients(_model, Settings);
        var (decayed, undecayed) = AdamWOptimizer<T>.StepsAt(Settings, learningRate, StepCount + 1);
        foreach (var run in _runs)
        {
            View<T> Whole(ParameterSet<T> set) => set.Chunks[run.Chunk].All.Slice(run.ChunkOffset, run.Length);
            View<T> Owned(ShardBuffers<T> buffers) => buffers.Segment(run.Segment).Slice(run.SegmentOffset, run.Length);
            _model.Ops.AdamW(Whole(_model.Parameters), Whole(_model.Gradients), Owned(_first), Owned(_second), run.Decays ? decayed : undecayed,
                _master is null ? null : Owned(_master));
        }
        StepCount++;
        ShardTransfers.AllGatherSlices(_group, _model.Parameters);
        return norm;
    }

    /// <summary>
    /// The file <see cref="AdamWOptimizer{T}.Save"/> writes, byte for byte: each tensor is gathered from the ranks' slices
    /// in the order the root writes it (one tensor in host memory at a time), and only the root writes.
    /// </summary>
    public void Save(string path)
    {
        var native = AdamWOptimizer<T>.NativeDType;
        var momentDType = _first.Storage == Storage.BFloat16 ? SafeTensorsDType.BF16 : native;
        var parts = _model.Layout.Entries.SelectMany(entry => (IEnumerable<(string Name, ParameterEntry Entry, ShardBuffers<T> Source, SafeTensorsDType DType)>)
        [
            ($"{AdamWOptimizer<T>.FirstMomentName}.{entry.Name}", entry, _first, momentDType),
            ($"{AdamWOptimizer<T>.SecondMomentName}.{entry.Name}", entry, _second, momentDType),
            .. _master is null ? [] : new[] { ($"{AdamWOptimizer<T>.MasterName}.{entry.Name}", entry, _master, native) },
        ]).ToArray();
        using var scratch = new HostBuffer<T>(_model.Layout.Entries.Max(entry => entry.Length));
        View<T> Gather(ParameterEntry entry, ShardBuffers<T> source)
        {
            ShardTransfers.AllGatherRange<T>(_group, _model.Layout.TotalLength, entry.Start, scratch.Array.AsSpan(0, entry.Length),
                (position, own) => source.Read(position - Shard.Start, own));
            return scratch.All.Slice(0, entry.Length);
        }
        if (!_group.IsRoot)
        {
            foreach (var part in parts) Gather(part.Entry, part.Source);
            return;
        }
        var tensors = parts.Select(part => new TensorToWrite(part.Name, part.Entry.Shape.Select(d => (long)d).ToArray(), part.DType,
            stream => ParameterTensors.WriteValues(Gather(part.Entry, part.Source), part.DType, stream))).ToArray();
        SafeTensorsWriter.Write(path, tensors, AdamWOptimizer<T>.Metadata(Settings, StepCount));
    }

    /// <summary>
    /// Reads this rank's slice of every tensor of a file written by either optimizer (the same checks as unsharded), and
    /// gives the model's weights in the slice the master's rounding; the rest of the weights are the checkpoint's model.
    /// </summary>
    public void Load(string path)
    {
        var (file, step) = AdamWOptimizer<T>.OpenChecked(path, _model.Layout, _master is not null);
        using var opened = file;
        foreach (var entry in _model.Layout.Entries)
        {
            var (offset, length) = Shard.Overlap(entry.Start, entry.Length);
            if (length == 0) continue;
            Read(AdamWOptimizer<T>.FirstMomentName, _first, negativeAllowed: true);
            Read(AdamWOptimizer<T>.SecondMomentName, _second, negativeAllowed: false);
            if (_master is not null) Read(AdamWOptimizer<T>.MasterName, _master, negativeAllowed: true);

            void Read(string prefix, ShardBuffers<T> target, bool negativeAllowed)
            {
                var name = $"{prefix}.{entry.Name}";
                ParameterTensors.Read(file, path, name, entry, target.View(entry.Start + offset - Shard.Start, length),
                    (piece, start) => AdamWOptimizer<T>.CheckValues(path, name, piece, start, negativeAllowed), firstElement: offset);
            }
        }
        _master?.CopyTo(_model.Parameters);
        StepCount = step;
    }

    /// <summary>The whole float32 master weights on the root (host memory, 4 bytes a parameter), null elsewhere and without master weights.</summary>
    public ParameterSet<T>? GatherWeightsToSave()
    {
        if (_master is not { } master) return null;
        var whole = _group.IsRoot ? new ParameterSet<T>(_model.Layout, length => new HostBuffer<T>(length)) : null;
        var piece = new T[(int)Math.Min(1 << 22, _model.Layout.TotalLength)];
        for (var start = 0L; start < _model.Layout.TotalLength; start += piece.Length)
        {
            var span = piece.AsSpan(0, (int)Math.Min(piece.Length, _model.Layout.TotalLength - start));
            ShardTransfers.AllGatherRange<T>(_group, _model.Layout.TotalLength, start, span, (position, own) => master.Read(position - Shard.Start, own));
            if (whole is not null) ShardTransfers.WriteRange(whole, start, span);
        }
        return whole;
    }

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
        _master?.Dispose();
    }

    /// <summary>A decay run's part in one segment of the shard: one AdamW call each.</summary>
    private readonly record struct ShardRun(int Chunk, int ChunkOffset, int Length, bool Decays, int Segment, int SegmentOffset)
    {
        public static IReadOnlyList<ShardRun> Of(IReadOnlyList<AdamWOptimizer<T>.DecayRun> runs, ParameterShard shard)
        {
            var parts = new List<ShardRun>();
            foreach (var run in runs)
            {
                for (var s = 0; s < shard.Segments.Count; s++)
                {
                    var segment = shard.Segments[s];
                    if (segment.Chunk != run.Chunk) continue;
                    int from = Math.Max(run.Offset, segment.ChunkOffset), to = Math.Min(run.Offset + run.Length, segment.ChunkOffset + segment.Length);
                    if (from < to) parts.Add(new ShardRun(run.Chunk, from, to - from, run.Decays, s, from - segment.ChunkOffset));
                }
            }
            return parts;
        }
    }
}
