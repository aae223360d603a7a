using ILGPU.Runtime;
using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Kernels.Ilgpu;
using SimNpo.Model;
using SimNpo.Unlearn.Progress;
using RoundFigures = System.Collections.Generic.List<System.Collections.Generic.IReadOnlyDictionary<string, double>>;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// What `simnpo bench` measures: the suites (sgemm, step, attention), the model shapes, the square sgemm sizes, the rounds,
/// the precisions (each suite runs once per precision), and the attention suite's sequence lengths.
/// </summary>
public sealed record BenchSettings(bool Sgemm, bool Step, IReadOnlyList<BenchmarkShape> Shapes, IReadOnlyList<int> Sizes, int Rounds, double MinSeconds)
{
    public IReadOnlyList<Precision> Precisions { get; init; } = [Precision.Fp32];
    public bool Attention { get; init; }
    public IReadOnlyList<int> AttentionLengths { get; init; } = [512, 2048];

    public void Validate()
    {
        if (Precisions.Count == 0) throw new ArgumentException("--precision names no precision");
        if (Rounds < 1) throw new ArgumentException($"--rounds must be at least 1, got {Rounds}");
        if (!(MinSeconds > 0)) throw new ArgumentException($"--min-seconds must be positive, got {MinSeconds}");
    }
}

/// <summary>
/// Runs the suites on one device, SimNpo against PyTorch where a <see cref="TorchBench"/> is given: per suite (and per
/// model shape for the step) both sides warm up, then their rounds alternate, so a slow spell of the machine hits
/// both. The machine's float32 peak is measured first, in the same run. Progress goes to <paramref name="progress"/>.
/// </summary>
public sealed class Benchmark(BenchSettings settings, IOps<float> ops, Func<BenchmarkShape, Precision, IBenchRounds> simnpoStep, TorchBench? torch,
    TextWriter progress)
{
    /// <summary>What the first PyTorch worker said about itself.</summary>
    private IReadOnlyDictionary<string, string>? _torchInfo;

    public BenchReport Run(string commandLine)
    {
        settings.Validate();
        progress.WriteLine($"bench: measuring the float32 peak of {ops.Name}");
        var peak = MachinePeaks.Measure(ops);
        progress.WriteLine($"bench: peak {peak.Gflops:F1} GFLOP/s, {peak.GigabytesPerSecond:F1} GB/s");
        var sgemm = settings.Sgemm ? settings.Precisions.SelectMany(precision => RunSgemm(peak, precision)).ToArray() : [];
        var attention = settings.Attention ? settings.Precisions.SelectMany(precision => RunAttention(peak, precision)).ToArray() : [];
        var steps = settings.Step ? settings.Shapes.SelectMany(shape => settings.Precisions.Select(precision => RunStep(shape, precision, peak))).ToArray()
            : [];
        return new BenchReport
        {
            Date = DateTimeOffset.Now,
            CommandLine = commandLine,
            Machine = MachineInfo.Current(),
            DeviceKind = Kind(ops),
            Device = ops.Name,
            Peak = peak,
            Torch = _torchInfo,
            Rounds = settings.Rounds,
            MinSeconds = settings.MinSeconds,
            Sgemm = sgemm,
            Attention = attention,
            Steps = steps,
        };
    }

    /// <summary>The device's kind as --device names it: what the results file is named after and torch is told.</summary>
    public static string Kind(IOps<float> ops) => ops switch
    {
        IlgpuOps { Accelerator.AcceleratorType: AcceleratorType.Cuda } => "cuda",
        IlgpuOps { Accelerator.AcceleratorType: AcceleratorType.OpenCL } => "opencl",
        IlgpuOps => "ilgpu-cpu",
        FastCpuOps => "cpu",
        _ => "reference",
    };

    /// <summary>torch's device for a comparison: CUDA against CUDA, its CPU against everything else.</summary>
    public static string TorchDevice(IOps<float> ops) => Kind(ops) == "cuda" ? "cuda" : "cpu";

    private SgemmResult[] RunSgemm(MachinePeak peak, Precision precision)
    {
        var cases = SgemmSuite.Cases(settings.Sizes, settings.Shapes);
        progress.WriteLine($"bench: {precision} matmul at {cases.Count} shapes: warming up");
        using var simnpo = SgemmSuite.Rounds(ops, cases, settings.MinSeconds, precision);
        using var pytorch = torch?.Sgemm(cases.Select(c => c.Shape), settings.MinSeconds, precision);
        _torchInfo ??= TorchInfo(pytorch);
        var (ours, theirs) = Alternate($"{precision} matmul", simnpo, pytorch);
        return cases.Select(c => new SgemmResult(c.Shape.ToString(), precision.Name, c.UsedBy,
            Compare(SgemmSuite.MatMulFigure(c.Shape), ours, theirs, peak.Gflops),
            Compare(SgemmSuite.BackwardFigure(c.Shape), ours, theirs, peak.Gflops))).ToArray();
    }

    private AttentionResult[] RunAttention(MachinePeak peak, Precision precision)
    {
        var cases = AttentionSuite.Cases(settings.Shapes, settings.AttentionLengths);
        progress.WriteLine($"bench: {precision} attention at {cases.Count} shapes: warming up");
        using var simnpo = AttentionSuite.Rounds(ops, cases, settings.MinSeconds, precision);
        using var pytorch = torch?.Attention(cases, settings.MinSeconds, precision);
        _torchInfo ??= TorchInfo(pytorch);
        var (ours, theirs) = Alternate($"{precision} attention", simnpo, pytorch);
        return cases.Select(c => new AttentionResult(c.ToString(), precision.Name, c.UsedBy,
            Compare(AttentionSuite.ForwardFigure(c), ours, theirs, peak.Gflops),
            Compare(AttentionSuite.BackwardFigure(c), ours, theirs, peak.Gflops))).ToArray();
    }

    private StepResult RunStep(BenchmarkShape shape, Precision precision, MachinePeak peak)
    {
        progress.WriteLine($"bench: {precision} step {shape.Name}, batch {shape.BatchSize} x {shape.SequenceLength}: warming up");
        using var simnpo = simnpoStep(shape, precision);
        using var pytorch = torch?.Step(shape, settings.MinSeconds, precision);
        _torchInfo ??= TorchInfo(pytorch);
        var (ours, theirs) = Alternate($"{precision} step {shape.Name}", simnpo, pytorch);
        var flops = SyntheticStep.FlopsOf(shape.Config, shape.BatchSize, shape.SequenceLength);
        var tokensAtPeak = peak.Gflops * 1e9 / (flops / shape.Tokens);
        return new StepResult(shape.Name, precision.Name, shape.BatchSize, shape.SequenceLength, new ParameterLayout(shape.Config).TotalLength, flops,
            Compare(StepSuite.Figure, ours, theirs, tokensAtPeak), simnpo.Finish(), pytorch?.Finish());
    }

    private IReadOnlyDictionary<string, string>? TorchInfo(WorkerProcess? pytorch) =>
        pytorch is null ? null : new Dictionary<string, string>(pytorch.Info) { ["python"] = torch!.Python };

    private (RoundFigures Ours, RoundFigures? Theirs) Alternate(string what, IBenchRounds simnpo, IBenchRounds? pytorch)
    {
        var (ours, theirs) = (new RoundFigures(), pytorch is null ? null : new RoundFigures());
        using var bar = ProgressReporting.Start($"bench {what}", settings.Rounds, "rounds");
        for (var round = 1; round <= settings.Rounds; round++)
        {
            progress.WriteLine($"bench: {what}: round {round}/{settings.Rounds}");
            ours.Add(simnpo.Round());
            theirs?.Add(pytorch!.Round());
            bar.Advance();
        }
        return (ours, theirs);
    }

    private static Comparison Compare(string figure, RoundFigures ours, RoundFigures? theirs, double atPeak)
    {
        static double[] Values(RoundFigures rounds, string figure, string side) =>
            rounds.Select(r => r.TryGetValue(figure, out var value) ? value : throw new IOException($"the {side} side reported no '{figure}'")).ToArray();
        return new Comparison(figure, Values(ours, figure, "SimNpo"), theirs is null ? null : Values(theirs, figure, "PyTorch"), atPeak);
    }
}
