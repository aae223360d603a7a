using System.CommandLine;
using SimNpo.Kernels;
using SimNpo.Model;

namespace SimNpo.Cli;

/// <summary>The options that size a run's memory: storage precision, recomputation, optimizer state, the device's memory.</summary>
public static partial class CommonOptions
{
    private static readonly string[] StorageNames = [.. Kernels.Precision.All.Select(p => p.Name)];

    public static Option<string> Recompute() =>
        new Option<string>("--recompute")
            { Description = "none: keep every layer's activations; layers: keep each layer's input and recompute its forward in the backward",
            DefaultValueFactory = _ => SimNpo.Model.Recompute.None.Name() }
            .AcceptOnlyFromAmong([.. RecomputeNames.All]);

    public static Option<string> OptimizerState() =>
        new Option<string>("--optimizer-state") { Description = "storage of the AdamW moments (bf16 halves them)",
            DefaultValueFactory = _ => Kernels.Precision.Fp32.Name }
            .AcceptOnlyFromAmong(StorageNames);

    public static Option<double?> DeviceMemory() =>
        new("--device-memory") { Description = "the device's memory in GB (10^9 bytes): a plan that does not fit is an error before any weights load" };

    /// <summary>The memory plan the options of a command describe (check it against --device-memory with <see cref="MemoryPlan.EnsureFits"/>).</summary>
    public static MemoryPlan Plan(ParseResult parse, LlamaConfig config, Kernels.Precision precision, Option<string> recompute, Option<string> optimizerState,
        int batchSize, int sequenceLength) =>
        MemoryPlan.ForTraining(config, precision, Kernels.Precision.Parse(parse.GetRequiredValue(optimizerState)).Bulk,
            RecomputeNames.Parse(parse.GetRequiredValue(recompute)), batchSize, sequenceLength);
}
