using System.Diagnostics;
using SimNpo.Kernels;

namespace SimNpo.Unlearn.Performance;

/// <summary>One piece of work to time: its figure's name, the work, and the units (GFLOP, tokens) one run of it does.</summary>
public sealed record BenchWork(string Figure, Action Run, double Units);

/// <summary>
/// Times works in this process, as tools/bench/torch_bench.py times PyTorch: each work runs once to warm up (first-call
/// allocation, JIT, kernel compilation), once more to calibrate how many runs make a round of at least minSeconds
/// (small shapes are timed over many calls), then each round times that many runs, device-synchronised, and reports
/// units per second.
/// </summary>
public sealed class CalibratedRounds : IBenchRounds
{
    private readonly IOps<float> _ops;
    private readonly (BenchWork Work, int Repeats)[] _works;
    private readonly IDisposable? _owned;

    public CalibratedRounds(IOps<float> ops, IReadOnlyList<BenchWork> works, double minSeconds, IDisposable? owned = null)
    {
        _ops = ops;
        _owned = owned;
        _works = works.Select(work =>
        {
            Time(work, 1);
            var once = Math.Max(Time(work, 1), 1e-9);
            return (work, Math.Max(1, (int)Math.Ceiling(minSeconds / once)));
        }).ToArray();
    }

    public IReadOnlyDictionary<string, string> Info => new Dictionary<string, string> { ["device"] = _ops.Name };

    public IReadOnlyDictionary<string, double> Round() =>
        _works.ToDictionary(w => w.Work.Figure, w => w.Work.Units * w.Repeats / Time(w.Work, w.Repeats));

    public IReadOnlyDictionary<string, long> Finish() => PeakMemory.Of(_ops);

    public void Dispose() => _owned?.Dispose();

    private double Time(BenchWork work, int repeats)
    {
        _ops.Synchronize();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < repeats; i++) work.Run();
        _ops.Synchronize();
        return clock.Elapsed.TotalSeconds;
    }
}
