using System.CommandLine;
using SimNpo.Kernels;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Cli;

/// <summary>
/// `simnpo profile`: SimNPO training steps on random data with every op timed, as a table of where the time goes and
/// how close each op comes to the machine's peak FLOP/s or bandwidth, measured in the same run.
/// </summary>
public static class ProfileCommand
{
    private const string DefaultShape = "stories260K";

    public static Command Create()
    {
        var model = CommonOptions.OptionalModel("--model", "profile this model directory's weights (instead of --shape)");
        var shape = new Option<string?>("--shape")
        {
            Description = $"a named model shape with random weights: {string.Join(", ", BenchmarkModels.Names)} (default {DefaultShape})",
        };
        shape.AcceptOnlyFromAmong([.. BenchmarkModels.Names]);
        var batchSize = new Option<int?>("--batch-size") { Description = "sequences per step (default: the shape's; 4 for --model)" };
        var sequenceLength = new Option<int?>("--seq-len") { Description = "tokens per sequence (default: the shape's; min(512, max positions) for --model)" };
        var steps = new Option<int>("--steps") { Description = "measured steps", DefaultValueFactory = _ => 5 };
        var warmup = new Option<int>("--warmup") { Description = "steps run first and not measured (kernels compile, buffers are allocated)",
            DefaultValueFactory = _ => 1 };
        var quickPeaks = new Option<bool>("--quick-peaks") { Description = "measure the machine's peaks with smaller sizes: faster, a little less exact" };
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var seed = CommonOptions.Seed();
        var json = new Option<FileInfo?>("--json") { Description = "also write the profile, with machine, device, date and shape, to this JSON file" };
        var command = new Command("profile", "Time every op of a SimNPO training step and compare each with the machine's measured peaks")
        {
            model, shape, batchSize, sequenceLength, steps, warmup, quickPeaks, device, precision, seed, json,
        };
        command.SetAction(parse =>
        {
            var directory = parse.GetValue(model);
            if (directory is not null && parse.GetValue(shape) is not null) throw new UsageException("give --model or --shape, not both");
            var (stepCount, warmupCount) = (parse.GetRequiredValue(steps), parse.GetRequiredValue(warmup));
            if (stepCount < 1 || warmupCount < 0) throw new UsageException("--steps must be at least 1 and --warmup not negative");
            var progress = parse.InvocationConfiguration.Error;
            var ops = new TimedOps<float>(Devices.Create(parse.GetRequiredValue(device)));
            var storage = CommonOptions.Precision(parse, precision, ops);
            var (name, step) = directory is null
                ? RandomModel(BenchmarkModels.Get(parse.GetValue(shape) ?? DefaultShape, parse.GetValue(batchSize), parse.GetValue(sequenceLength)), ops,
                    storage,
                    parse.GetRequiredValue(seed), progress)
                : LoadedModel(CommonOptions.ModelFolder(directory), ops, storage, parse.GetValue(batchSize), parse.GetValue(sequenceLength), parse.GetRequiredValue(seed), progress);
            using (step)
            {
                var profile = StepProfile.Measure(name, step, ops, warmupCount, stepCount, parse.GetValue(quickPeaks), progress);
                var output = parse.InvocationConfiguration.Output;
                profile.WriteTable(output);
                if (parse.GetValue(json) is { } file)
                {
                    AtomicFile.WriteAllText(file.FullName, profile.ToJsonText());
                    output.WriteLine($"wrote {file.FullName}");
                }
            }
            return 0;
        });
        return command;
    }

    private static (string, SyntheticStep) RandomModel(BenchmarkShape shape, IOps<float> ops, Precision precision, int seed, TextWriter progress)
    {
        progress.WriteLine($"building {shape.Name} with random weights in {precision}, batch {shape.BatchSize} x {shape.SequenceLength}, on {ops.Name}");
        return (shape.Name, SyntheticStep.Randomized(ops, shape.Config, shape.BatchSize, shape.SequenceLength, seed, precision: precision));
    }

    private static (string, SyntheticStep) LoadedModel(string directory, IOps<float> ops, Precision precision, int? batchSize, int? sequenceLength,
        int seed,
        TextWriter progress)
    {
        progress.WriteLine($"loading {directory} in {precision} on {ops.Name}");
        var model = ModelFiles.Load(directory, ops, precision);
        var length = sequenceLength ?? Math.Min(512, model.Config.MaxSequenceLength);
        return (new DirectoryInfo(directory).Name, new SyntheticStep(model, batchSize ?? 4, length, seed));
    }
}
