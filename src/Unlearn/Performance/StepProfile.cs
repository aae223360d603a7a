using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Kernels;
using SimNpo.Model;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// Where the time of a training step goes, op by op, measured with <see cref="TimedOps{T}"/> over a
/// <see cref="SyntheticStep"/> after warm-up, beside the peaks of the machine it ran on.
/// </summary>
public sealed class StepProfile(string shapeName, SyntheticStep step, string device, MachinePeak peak, int warmup, double[] losses, double stepSeconds,
    IReadOnlyList<OpProfile> ops)
{
    public string ShapeName { get; } = shapeName;
    public LlamaConfig Config { get; } = step.Model.Config;
    public int BatchSize { get; } = step.BatchSize;
    public int SequenceLength { get; } = step.SequenceLength;
    public int Tokens { get; } = step.Tokens;
    public double ModelFlops { get; } = step.Flops;
    public string Device { get; } = device;
    public MachinePeak Peak { get; } = peak;
    public int Warmup { get; } = warmup;
    public double[] Losses { get; } = losses;

    /// <summary>Mean wall time of a measured step, timing included.</summary>
    public double StepSeconds { get; } = stepSeconds;

    /// <summary>Slowest first.</summary>
    public IReadOnlyList<OpProfile> Ops { get; } = ops;

    /// <summary>What the step spends outside the ops: host work (batch upload, the objective) and the timing itself.</summary>
    public double OutsideOpsSeconds => StepSeconds - Ops.Sum(op => op.Seconds);

    public double TokensPerSecond => Tokens / StepSeconds;
    public double ModelGflops => ModelFlops / StepSeconds / 1e9;
    public double PercentOfPeak => 100 * ModelGflops / Peak.Gflops;

    /// <summary>
    /// Runs <paramref name="warmup"/> steps (kernels compile, buffers are allocated), forgets their counts, runs
    /// <paramref name="steps"/> measured ones, then measures the machine's peaks. The step's model must run on <paramref name="ops"/>.
    /// </summary>
    public static StepProfile Measure(string shapeName, SyntheticStep step, TimedOps<float> ops, int warmup, int steps, bool quickPeaks, TextWriter progress)
    {
        if (!ReferenceEquals(step.Model.Ops, ops)) throw new ArgumentException("the step's model must run on the timed ops");
        if (warmup < 0) throw new ArgumentException($"warm-up steps must not be negative, got {warmup}");
        if (steps < 1) throw new ArgumentException($"steps must be at least 1, got {steps}");
        for (var i = 1; i <= warmup; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var loss = step.Run();
            progress.WriteLine($"warm-up {i}/{warmup}: loss {loss:G6}, {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms");
        }
        ops.Reset();
        var losses = new double[steps];
        var total = 0.0;
        for (var i = 0; i < steps; i++)
        {
            ops.Synchronize();
            var started = Stopwatch.GetTimestamp();
            losses[i] = step.Run();
            ops.Synchronize();
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            total += seconds;
            progress.WriteLine($"step {i + 1}/{steps}: loss {losses[i]:G6}, {seconds * 1e3:F1} ms");
        }
        progress.WriteLine("measuring the machine's peak FLOP/s and memory bandwidth");
        var peak = MachinePeaks.Measure(ops.Inner, quickPeaks);
        var stepSeconds = total / steps;
        var profiles = ops.Totals().Select(t => OpProfile.From(t, steps, stepSeconds, peak)).OrderByDescending(p => p.Seconds).ToArray();
        return new StepProfile(shapeName, step, ops.Name, peak, warmup, losses, stepSeconds, profiles);
    }

    public void WriteTable(TextWriter output)
    {
        output.WriteLine($"{ShapeName}: batch {BatchSize} x {SequenceLength}, {new ParameterLayout(Config).TotalLength:N0} parameters, on {Device}");
        output.WriteLine($"per step, mean of {Losses.Length} after {Warmup} warm-up:");
        output.WriteLine($"{"op",-28}{"calls",7}{"ms",11}{"share",8}{"achieved",20}{"% peak",9}");
        foreach (var op in Ops)
            output.WriteLine(Invariant(
                $"{op.Op,-28}{op.Calls,7:0.#}{op.Seconds * 1e3,11:F2}{op.Share,8:P1}{$"{op.Achieved:F1} {op.Unit}",20}{op.PercentOfPeak,8:F1}%"));
        output.WriteLine(Invariant($"{"(outside the ops)",-28}{"",7}{OutsideOpsSeconds * 1e3,11:F2}{OutsideOpsSeconds / StepSeconds,8:P1}"));
        output.WriteLine(Invariant(
            $"step {StepSeconds * 1e3:F1} ms, {TokensPerSecond:N0} tokens/s, model {ModelGflops:F1} GFLOP/s = {PercentOfPeak:F1}% of peak"));
        output.WriteLine(Invariant($"peaks of {Peak.Device}: {Peak.Gflops:F1} GFLOP/s, {Peak.GigabytesPerSecond:F1} GB/s"));
    }

    /// <summary>The same numbers, with the machine, the device, the date and the shape, for keeping and comparing.</summary>
    public JsonObject ToJson() => new()
    {
        ["date"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        ["machine"] = JsonSerializer.SerializeToNode(MachineInfo.Current(), BenchReport.Json),
        ["device"] = Device,
        ["shape"] = new JsonObject
        {
            ["name"] = ShapeName,
            ["batch_size"] = BatchSize,
            ["seq_len"] = SequenceLength,
            ["tokens"] = Tokens,
            ["parameters"] = new ParameterLayout(Config).TotalLength,
            ["config"] = Config.ToJson(),
        },
        ["warmup"] = Warmup,
        ["steps"] = Losses.Length,
        ["losses"] = new JsonArray(Losses.Select(loss => (JsonNode)loss).ToArray()),
        ["peaks"] = new JsonObject { ["device"] = Peak.Device, ["gflops"] = Peak.Gflops, ["gb_per_second"] = Peak.GigabytesPerSecond },
        ["step"] = new JsonObject
        {
            ["seconds"] = StepSeconds,
            ["outside_ops_seconds"] = OutsideOpsSeconds,
            ["tokens_per_second"] = TokensPerSecond,
            ["model_flops"] = ModelFlops,
            ["model_gflops"] = ModelGflops,
            ["percent_of_peak"] = PercentOfPeak,
        },
        ["ops"] = new JsonArray(Ops.Select(op => (JsonNode)new JsonObject
        {
            ["op"] = op.Op,
            ["calls"] = op.Calls,
            ["seconds"] = op.Seconds,
            ["share"] = op.Share,
            ["flops"] = op.Flops,
            ["bytes"] = op.Bytes,
            ["bound"] = op.ComputeBound ? "compute" : "memory",
            ["achieved"] = op.Achieved,
            ["unit"] = op.Unit,
            ["percent_of_peak"] = op.PercentOfPeak,
        }).ToArray()),
    };

    /// <summary>Indented, and readable: device names keep their '+' and parentheses unescaped.</summary>
    public string ToJsonText() => ToJson().ToJsonString(BenchReport.Json) + "\n";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
