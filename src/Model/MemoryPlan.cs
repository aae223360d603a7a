using SimNpo.Kernels;

namespace SimNpo.Model;

/// <summary>
/// The device memory a training step of a model takes, in bytes, before anything is allocated: each line sized by the
/// code that allocates it (<see cref="ParameterLayout.Count"/> for the parameters, <see cref="Activations{T}.Count"/>
/// and <see cref="Activations{T}.LogitsLength"/> for the activations), so the plan cannot drift from the allocations.
/// The compute type is float32 (the fast CPU and ILGPU paths). Every position of the batch is counted as scored, the
/// upper bound; the head is the chunked output loss (a KL retain term stores the scored rows' full logits instead of
/// its scratch). Not counted: the KL retain term's reference model (NPO's reference log-probs come from the model
/// itself), the ops' private scratch, the runtime's own.
/// </summary>
public sealed record MemoryPlan(
    LlamaConfig Config, Precision Precision, Storage OptimizerState, Recompute Recompute, int BatchSize, int SequenceLength,
    long Parameters, long Weights, long MasterWeights, long Moments, long Gradients, long Activations, long LossScratch)
{
    /// <summary>The compute type's bytes: statistics, master weights and float32 moments.</summary>
    private const int ComputeBytes = sizeof(float);

    public long Total => Weights + MasterWeights + Moments + Gradients + Activations + LossScratch;

    /// <summary>Data-parallel ranks this plan is one of (1: a single process).</summary>
    public int Ranks { get; init; } = 1;

    /// <summary>Whether each rank holds only its slice of the master weights and moments (ZeRO stage 1, --shard-optimizer).</summary>
    public bool ShardedOptimizer { get; init; }

    private string SliceNote => ShardedOptimizer ? $", 1/{Ranks} slice" : "";

    /// <summary>The lines a plan prints, in order, total last.</summary>
    public IReadOnlyList<(string Name, long Bytes)> Lines =>
    [
        ($"weights ({Precision.Name})", Weights),
        ($"master weights (fp32{SliceNote})", MasterWeights),
        ($"AdamW moments ({OptimizerState.Name()}{SliceNote})", Moments),
        ($"gradients ({Precision.Name})", Gradients),
        ($"activations (recompute {Recompute.Name()})", Activations),
        ("loss scratch (fp32)", LossScratch),
        ("total", Total),
    ];

    public static MemoryPlan ForTraining(LlamaConfig config, Precision precision, Storage optimizerState, Recompute recompute, int batchSize,
        int sequenceLength)
    {
        if (batchSize < 1 || sequenceLength < 1) throw new ArgumentException($"batch {batchSize} x {sequenceLength}: both must be at least 1");
        if (sequenceLength > config.MaxPositionEmbeddings)
            throw new ArgumentException($"sequence length {sequenceLength} passes the model's {config.MaxPositionEmbeddings} positions");
        var parameters = ParameterLayout.Count(config);
        var bulkBytes = precision.Bulk.ElementBytes(ComputeBytes);
        var scored = checked(batchSize * sequenceLength);
        var shape = new ActivationShape(batchSize, sequenceLength, scored, FullLogits: false, recompute);
        var lossScratch = (long)Activations<float>.LogitsLength(config, shape) * ComputeBytes;
        // The loss scratch is carved with the statistics; it gets its own line. The batch's integer indices count here.
        var activations = Activations<float>.Count(config, shape).Bytes(precision.Bulk, ComputeBytes) - lossScratch
            + (long)BatchIndices.Count(batchSize, sequenceLength, scored) * sizeof(int);
        return new MemoryPlan(config, precision, optimizerState, recompute, batchSize, sequenceLength, parameters,
            Weights: parameters * bulkBytes,
            MasterWeights: precision.HasMasterWeights ? parameters * ComputeBytes : 0,
            Moments: 2 * parameters * optimizerState.ElementBytes(ComputeBytes),
            Gradients: parameters * bulkBytes,
            activations, lossScratch);
    }

    /// <summary>
    /// The plan of each of N data-parallel ranks: every rank holds the whole model, its gradients and one micro-batch's
    /// activations, as one process does; with a sharded optimizer (ZeRO stage 1) only its slice of the master weights and
    /// moments, sized for the largest slice (⌈P/N⌉ parameters, <see cref="ParameterShard"/>). Not counted: the host
    /// buffer the MPI path stages the gradients in (host memory), NCCL's own buffers.
    /// </summary>
    public MemoryPlan ForRanks(int ranks, bool shardOptimizer)
    {
        if (ranks < 1) throw new ArgumentOutOfRangeException(nameof(ranks), $"ranks must be at least 1, got {ranks}");
        if (!shardOptimizer) return this with { Ranks = ranks, ShardedOptimizer = false };
        var slice = ParameterShard.LargestLength(Parameters, ranks);
        return this with
        {
            Ranks = ranks,
            ShardedOptimizer = true,
            MasterWeights = Precision.HasMasterWeights ? slice * ComputeBytes : 0,
            Moments = 2 * slice * OptimizerState.ElementBytes(ComputeBytes),
        };
    }

    /// <summary>Decimal gigabytes (10^9 bytes), the unit devices are sold in (an H200 has 141 GB).</summary>
    public static double Gigabytes(long bytes) => bytes / 1e9;

    /// <summary>Two decimals, or three significant digits below 1 GB (a tiny model's plan is not "0.00").</summary>
    private static string Format(double gigabytes) => gigabytes >= 1 ? gigabytes.ToString("F2") : gigabytes.ToString("G3");

    /// <summary>Whether the plan fits a device of this many gigabytes.</summary>
    public bool Fits(double deviceGigabytes) => Gigabytes(Total) <= deviceGigabytes;

    /// <summary>Refuses a plan that does not fit the device, naming what would make it smaller; call before any weights load.</summary>
    public void EnsureFits(double deviceGigabytes)
    {
        if (deviceGigabytes <= 0) throw new ArgumentException($"device memory must be positive, got {deviceGigabytes} GB");
        if (Fits(deviceGigabytes)) return;
        var remedies = new List<string>();
        if (Recompute == Recompute.None) remedies.Add("--recompute layers");
        if (Precision.Bulk == Storage.Native) remedies.Add("--precision bf16");
        if (OptimizerState == Storage.Native) remedies.Add("--optimizer-state bf16");
        if (Ranks > 1 && !ShardedOptimizer) remedies.Add("--shard-optimizer");
        if (BatchSize > 1) remedies.Add("a smaller --batch-size");
        throw new InsufficientMemoryException(
            $"training needs {Format(Gigabytes(Total))} GB{(Ranks > 1 ? " per rank" : "")} at batch {BatchSize} x {SequenceLength} ({Precision.Name}, recompute {Recompute.Name()}), "
            + $"more than the device's {deviceGigabytes:G} GB" + (remedies.Count > 0 ? $"; try {string.Join(", ", remedies)}" : ""));
    }
}
