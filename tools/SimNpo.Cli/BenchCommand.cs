using System.CommandLine;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Cli;

/// <summary>
/// `simnpo bench`: sgemm GFLOP/s and SimNPO step tokens/s, optionally against PyTorch, into docs/results. Also the hidden
/// `simnpo bench-worker`, which the step suite starts once per model shape so each has its own peak memory.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var suite = new Option<string>("--suite") { Description = "what to measure (all: sgemm and step)", DefaultValueFactory = _ => "all" }
            .AcceptOnlyFromAmong("all", "sgemm", "step", "attention");
        var precisions = new Option<string>("--precision")
        {
            Description = $"precisions to measure, comma separated ({string.Join(", ", Devices.PrecisionNames)}); PyTorch runs bf16 as "
                + "torch.autocast over float32 parameters",
            DefaultValueFactory = _ => "auto",
        };
        var attentionLengths = new Option<string>("--attention-lengths") { Description = "attention suite: sequence lengths per model shape",
            DefaultValueFactory = _ => "512,2048" };
        var device = CommonOptions.Device();
        var shapes = new Option<string>("--shapes")
        {
            Description = $"model shapes, comma separated ({string.Join(", ", BenchmarkModels.Names)}): the step's models and sgemm's layer shapes",
            DefaultValueFactory = _ => "stories260K,15M,110M",
        };
        var sizes = new Option<string>("--sizes") { Description = "square sgemm sizes, comma separated", DefaultValueFactory = _ => "256,512,1024,2048" };
        var (batchSize, sequenceLength) = BatchOptions();
        var recompute = CommonOptions.Recompute();
        var rounds = new Option<int>("--rounds") { Description = "measured rounds after the warm-up", DefaultValueFactory = _ => 5 };
        var minSeconds = MinSecondsOption();
        var againstTorch = new Option<bool>("--against-torch")
            { Description = $"run {TorchBench.ScriptPath} alongside, round for round, and report SimNpo / PyTorch" };
        var python = new Option<string>("--python") { Description = "the Python with torch", DefaultValueFactory = _ => "/usr/bin/python3" };
        var script = new Option<string>("--torch-script") { Description = "the PyTorch benchmark script (default: found in the checkout)",
            DefaultValueFactory = _ => TorchBench.FindScript() };
        var output = new Option<DirectoryInfo>("--out") { Description = "results folder",
            DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("docs", "results")) };
        var ranks = BenchRanks.Option();
        var command = new Command("bench",
            "Measure sgemm GFLOP/s and SimNPO step tokens/s (optionally against PyTorch); write docs/results/bench-<device>-<date>.md and .json")
        {
            suite, device, precisions, recompute, shapes, sizes, attentionLengths, batchSize, sequenceLength, rounds, minSeconds, againstTorch, python, script,
                output, ranks,
        };
        command.SetAction(parse =>
        {
            var which = parse.GetRequiredValue(suite);
            if (parse.GetValue(ranks) is { } rankList)
                return BenchRanks.Run(parse, Integers(rankList, "--ranks"), Shapes(parse.GetRequiredValue(shapes), parse.GetValue(batchSize),
                    parse.GetValue(sequenceLength), RecomputeNames.Parse(parse.GetRequiredValue(recompute)))[0], parse.GetRequiredValue(rounds),
                    parse.GetRequiredValue(output).FullName, CommandLine(parse));
            var ops = Devices.Create(parse.GetRequiredValue(device));
            var settings = new BenchSettings(which is "all" or "sgemm", which is "all" or "step",
                Shapes(parse.GetRequiredValue(shapes), parse.GetValue(batchSize), parse.GetValue(sequenceLength),
                RecomputeNames.Parse(parse.GetRequiredValue(recompute))),
                Integers(parse.GetRequiredValue(sizes), "--sizes"), parse.GetRequiredValue(rounds), parse.GetRequiredValue(minSeconds))
            {
                Attention = which == "attention",
                AttentionLengths = Integers(parse.GetRequiredValue(attentionLengths), "--attention-lengths"),
                Precisions = parse.GetRequiredValue(precisions).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(name => Devices.PrecisionNames.Contains(name) ? name
                        : throw new UsageException($"--precision: '{name}' is not one of {string.Join(", ", Devices.PrecisionNames)}"))
                    .Select(name => CommonOptions.ResolvePrecision(name, ops)).Distinct().ToArray(),
            };
            try
            {
                settings.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            var torch = parse.GetValue(againstTorch)
                ? TorchBench.Open(parse.GetRequiredValue(python), parse.GetRequiredValue(script), Benchmark.TorchDevice(ops), Environment.ProcessorCount)
                : null;
            var kind = Benchmark.Kind(ops);
            var benchmark = new Benchmark(settings, ops,
                (shape, precision) => StepSuite.StartWorker(SimnpoExecutable(), shape, precision, kind, settings.MinSeconds), torch,
                parse.InvocationConfiguration.Error);
            var report = benchmark.Run(CommandLine(parse));
            var path = report.Write(parse.GetRequiredValue(output).FullName);
            var console = parse.InvocationConfiguration.Output;
            console.Write(report.ToMarkdown());
            console.WriteLine($"wrote {path} and its .json");
            return 0;
        });
        return command;
    }

    /// <summary>The hidden worker: one model shape's step rounds through <see cref="WorkerProtocol"/> on stdin and stdout.</summary>
    public static Command CreateWorker()
    {
        var shape = new Option<string>("--shape") { Required = true };
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var (batchSize, sequenceLength) = BatchOptions();
        var recompute = CommonOptions.Recompute();
        var minSeconds = MinSecondsOption();
        var command = new Command(StepSuite.WorkerCommand, "internal: serves one shape's step rounds to simnpo bench")
        {
            shape, device, precision, recompute, batchSize, sequenceLength, minSeconds,
        };
        command.Hidden = true;
        command.SetAction(parse =>
        {
            var model = Shapes(parse.GetRequiredValue(shape), parse.GetValue(batchSize), parse.GetValue(sequenceLength),
                RecomputeNames.Parse(parse.GetRequiredValue(recompute))).Single();
            var ops = Devices.Create(parse.GetRequiredValue(device));
            using var rounds = StepSuite.Rounds(ops, model, CommonOptions.Precision(parse, precision, ops), parse.GetRequiredValue(minSeconds));
            WorkerProtocol.Serve(rounds, Console.In, parse.InvocationConfiguration.Output);
            return 0;
        });
        return command;
    }

    private static (Option<int?> BatchSize, Option<int?> SequenceLength) BatchOptions() =>
        (new Option<int?>("--batch-size") { Description = "batch size of every model shape (default: each shape's own)" },
         new Option<int?>("--seq-len") { Description = "sequence length of every model shape (default: each shape's own)" });

    private static Option<double> MinSecondsOption() =>
        new("--min-seconds") { Description = "shortest round: small shapes repeat their work until a round lasts this long", DefaultValueFactory = _ => 0.2 };

    private static BenchmarkShape[] Shapes(string names, int? batchSize, int? sequenceLength, Recompute recompute)
    {
        try
        {
            return names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(name => BenchmarkModels.Get(name, batchSize, sequenceLength, recompute)).ToArray();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--shapes: {e.Message}");
        }
    }

    private static int[] Integers(string list, string option) =>
        list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(item => int.TryParse(item, out var value) && value > 0 ? value : throw new UsageException($"{option}: '{item}' is not a positive integer"))
            .ToArray();

    /// <summary>
    /// How to start this simnpo again: its own executable, or the dotnet host with simnpo.dll when it runs as
    /// `dotnet simnpo.dll` or inside another process (a test host).
    /// </summary>
    public static (string File, string[] Arguments) SimnpoExecutable()
    {
        var cli = typeof(BenchCommand).Assembly.Location;
        var process = Environment.ProcessPath ?? "dotnet";
        var name = Path.GetFileNameWithoutExtension(process);
        if (name == Path.GetFileNameWithoutExtension(cli)) return (process, []);
        return (name == "dotnet" ? process : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [cli]);
    }

    private static string CommandLine(ParseResult parse) =>
        "simnpo " + string.Join(" ", parse.Tokens.Select(t => t.Value.Contains(' ') ? $"\"{t.Value}\"" : t.Value));
}
