using System.Globalization;
using SimNpo.Kernels;
using SimNpo.Model;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// Tokens per second of one full SimNPO step (<see cref="SyntheticStep"/>) per model shape. Each shape runs in a worker
/// process of its own (the simnpo executable with <see cref="WorkerCommand"/>), so its peak memory is the step's alone.
/// </summary>
public static class StepSuite
{
    public const string Figure = "tokens/s";

    /// <summary>The hidden subcommand of simnpo that serves one shape's rounds through <see cref="WorkerProtocol"/>.</summary>
    public const string WorkerCommand = "bench-worker";

    /// <summary>The step on seeded random weights, warmed up and calibrated; the rounds own the model.</summary>
    public static CalibratedRounds Rounds(IOps<float> ops, BenchmarkShape shape, Precision precision, double minSeconds)
    {
        var step = SyntheticStep.Randomized(ops, shape.Config, shape.BatchSize, shape.SequenceLength, seed: 0, precision: precision,
            recompute: shape.Recompute);
        try
        {
            return new CalibratedRounds(ops, [new BenchWork(Figure, () => step.Run(), step.Tokens)], minSeconds, step);
        }
        catch
        {
            step.Dispose();
            throw;
        }
    }

    /// <summary>The worker of one shape: <paramref name="simnpo"/> is how to run the simnpo executable (a file and its first arguments).</summary>
    public static WorkerProcess StartWorker((string File, string[] Arguments) simnpo, BenchmarkShape shape, Precision precision, string device,
        double minSeconds)
    {
        string Text(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);
        return WorkerProcess.Start($"SimNpo ({WorkerCommand} {shape.Name} {precision})", simnpo.File,
        [
            .. simnpo.Arguments, WorkerCommand, "--shape", shape.Name, "--batch-size", Text(shape.BatchSize), "--seq-len", Text(shape.SequenceLength),
            "--device", device, "--precision", precision.Name, "--recompute", shape.Recompute.Name(), "--min-seconds", Text(minSeconds),
        ]);
    }
}
