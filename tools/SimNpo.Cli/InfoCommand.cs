using System.CommandLine;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.SafeTensors;
using SimNpo.Unlearn;

namespace SimNpo.Cli;

/// <summary>`simnpo info --model DIR`: what a model is and what it takes to unlearn it.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model("model directory: config.json (weights optional, the plan needs none)");
        var batchSize = new Option<int>("--batch-size") { Description = "batch size to size the activations for", DefaultValueFactory = _ => 8 };
        var sequenceLength = new Option<int?>("--seq-len")
            { Description = "sequence length to size the activations for (default: min(512, max_position_embeddings))" };
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var recompute = CommonOptions.Recompute();
        var optimizerState = CommonOptions.OptimizerState();
        var deviceMemory = CommonOptions.DeviceMemory();
        var ranks = CommonOptions.Ranks();
        var shardOptimizer = CommonOptions.ShardOptimizer();
        var command = new Command("info",
            "Describe a model: architecture, family and its features, parameter count, dtype, and a memory plan to train it with AdamW")
        {
            model, batchSize, sequenceLength, device, precision, recompute, optimizerState, deviceMemory, ranks, shardOptimizer,
        };
        command.SetAction(parse =>
        {
            var directory = CommonOptions.ModelFolder(parse.GetRequiredValue(model));
            var config = ModelFiles.LoadConfig(directory);
            var batch = parse.GetRequiredValue(batchSize);
            var length = parse.GetValue(sequenceLength) ?? Math.Min(512, config.MaxSequenceLength);
            if (batch < 1 || length < 1) throw new UsageException("--batch-size and --seq-len must be at least 1");
            var rankCount = parse.GetRequiredValue(ranks);
            if (rankCount < 1) throw new UsageException("--ranks must be at least 1");
            var ops = Devices.Create(parse.GetRequiredValue(device));
            var plan = CommonOptions.Plan(parse, config, Devices.NamedPrecision(parse.GetRequiredValue(precision), ops), recompute, optimizerState, batch,
                length).ForRanks(rankCount, parse.GetValue(shardOptimizer));

            var output = parse.InvocationConfiguration.Output;
            void Line(string label, object value) => output.WriteLine($"{label,-32}{value}");
            Line("model", directory);
            Line("device", ops.Name);
            Line("architecture", config.Architecture);
            foreach (var (name, value) in config.Family.Describe(config)) Line(name, value);
            Line("layers", config.NumHiddenLayers);
            Line("dim", config.HiddenSize);
            Line("heads", config.NumAttentionHeads);
            Line("kv heads", config.NumKeyValueHeads);
            Line("head dim", config.HeadDim);
            Line("ffn dim", config.IntermediateSize);
            Line("vocab", config.VocabSize);
            Line("max positions", config.MaxPositionEmbeddings);
            Line("rope", $"theta {config.RopeTheta}" + (config.RopeScaling is { } s ? $", llama3 scaling x{s.Factor}" : ""));
            Line("tied embeddings", config.TieWordEmbeddings ? "yes" : "no");
            Line("parameters", $"{plan.Parameters:N0}");
            Line("checkpoint dtype", CheckpointDTypes(directory));
            var perRank = rankCount > 1 ? $", per rank of {rankCount}" + (plan.ShardedOptimizer ? " with the optimizer sharded (ZeRO stage 1)" : "") : "";
            output.WriteLine($"memory to train with AdamW, batch {batch} x {length}, every position scored{perRank} (GB = 10^9 bytes):");
            foreach (var (name, bytes) in plan.Lines) Line("  " + name, $"{MemoryPlan.Gigabytes(bytes),9:F3} GB {bytes,19:N0} bytes");
            var other = plan.Recompute == Recompute.None ? Recompute.Layers : Recompute.None;
            var otherPlan = MemoryPlan.ForTraining(config, plan.Precision, plan.OptimizerState, other, batch, length);
            output.WriteLine(
                $"  (activations with recompute {other.Name()}: {MemoryPlan.Gigabytes(otherPlan.Activations):F3} GB, {otherPlan.Activations:N0} bytes; "
                + $"the loss computes logits in chunks of {Activations<float>.OutputChunk} columns)");
            if (parse.GetValue(deviceMemory) is { } gigabytes)
            {
                Line("fits", plan.Fits(gigabytes) ? $"yes, {gigabytes:G} GB ({gigabytes - MemoryPlan.Gigabytes(plan.Total):F2} GB to spare)"
                    : $"no, {gigabytes:G} GB");
                plan.EnsureFits(gigabytes);
            }
            return 0;
        });
        return command;
    }

    /// <summary>The checkpoint's tensor dtypes, or a note that there are no weights (a config alone describes and plans a model).</summary>
    private static string CheckpointDTypes(string directory)
    {
        if (!File.Exists(Path.Combine(directory, SafeTensorsCheckpoint.SingleFileName))
            && !File.Exists(Path.Combine(directory, SafeTensorsCheckpoint.IndexFileName)))
            return "none (config.json only)";
        using var checkpoint = SafeTensorsCheckpoint.Open(directory);
        return string.Join(", ", checkpoint.Tensors.Values.Select(t => t.DType.HeaderName()).Distinct().Order());
    }
}
