using System.CommandLine;
using SimNpo.Model;
using SimNpo.Model.SafeTensors;
using SimNpo.Unlearn;

namespace SimNpo.Cli;

/// <summary>`simnpo info --model DIR`: what a model is and what it takes to unlearn it.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var batchSize = new Option<int>("--batch-size") { Description = "batch size to size the activations for", DefaultValueFactory = _ => 8 };
        var sequenceLength = new Option<int?>("--seq-len") { Description = "sequence length to size the activations for (default: min(512, max_position_embeddings))" };
        var device = CommonOptions.Device();
        var command = new Command("info", "Describe a model: architecture, parameter count, dtype, memory to unlearn it in float32 with AdamW")
        {
            model, batchSize, sequenceLength, device,
        };
        command.SetAction(parse =>
        {
            var directory = parse.GetRequiredValue(model).FullName;
            var config = ModelFiles.LoadConfig(directory);
            var layout = new ParameterLayout(config);
            string dtypes;
            using (var checkpoint = SafeTensorsCheckpoint.Open(directory))
                dtypes = string.Join(", ", checkpoint.Tensors.Values.Select(t => t.DType.HeaderName()).Distinct().Order());
            var batch = parse.GetRequiredValue(batchSize);
            var length = parse.GetValue(sequenceLength) ?? Math.Min(512, config.MaxPositionEmbeddings);
            if (batch < 1 || length < 1) throw new UsageException("--batch-size and --seq-len must be at least 1");
            // Every position scored: the upper bound. The fused output loss keeps one vocabulary chunk of logits, not all.
            var scored = batch * length;
            var activations = Activations<float>.Count(config, batch, length, scored, fullLogits: false);
            var unfused = Activations<float>.Count(config, batch, length, scored, fullLogits: true);
            var parameters = (long)layout.TotalLength;

            var output = parse.InvocationConfiguration.Output;
            void Line(string label, object value) => output.WriteLine($"{label,-22}{value}");
            Line("model", directory);
            Line("device", Devices.Create(parse.GetRequiredValue(device)).Name);
            Line("architecture", config.Architecture);
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
            Line("parameters", $"{parameters:N0}");
            Line("checkpoint dtype", dtypes);
            output.WriteLine($"memory to unlearn in float32 with AdamW, batch {batch} x {length}:");
            Line("  parameters", Bytes(4 * parameters));
            Line("  gradients", Bytes(4 * parameters));
            Line("  AdamW moments", Bytes(8 * parameters));
            var saved = 4 * (unfused - activations);
            Line("  activations", Bytes(4 * activations) + (saved > 0
                ? $" (the loss computes logits in chunks of {Activations<float>.OutputChunk} columns: {Bytes(saved)} less than storing all {scored:N0} x {config.VocabSize:N0})"
                : " (the vocabulary fits one chunk of the fused loss)"));
            Line("  total", Bytes(4 * (4 * parameters + activations)));
            return 0;
        });
        return command;
    }

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F2} MiB",
        _ => $"{bytes / 1024.0:F1} KiB",
    };
}
