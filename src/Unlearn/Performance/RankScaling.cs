using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Unlearn.Performance;

/// <summary>One rank count's measurement: median step and all-reduce seconds (rank 0's), tokens/s over all ranks, efficiency against N × one rank.</summary>
public sealed record RankScalingResult(int Ranks, double StepSeconds, double AllReduceSeconds, double TokensPerSecond, double Efficiency)
{
    /// <summary>The all-reduce's share of the step.</summary>
    public double AllReduceShare => AllReduceSeconds / StepSeconds;
}

/// <summary>
/// `simnpo bench --ranks 1,2`: the SimNPO step (<see cref="SyntheticStep"/>) data-parallel on the fast CPU path, each rank a
/// thread of an <see cref="InProcessGroup"/> whose kernels run on that one thread (<see cref="CpuThreads.Limit"/>), each
/// with its own batch (weak scaling: N ranks process N batches a step) and the gradients summed by the communicator
/// between the backward and AdamW, through host copies as the MPI host path does. Threads rather than mpirun processes, so
/// that the benchmark runs where MPI is not installed; the all-reduce is then the in-process group's, not Open MPI's.
/// </summary>
public static class RankScaling
{
    public static IReadOnlyList<RankScalingResult> Measure(LlamaConfig config, int batchSize, int sequenceLength, IReadOnlyList<int> rankCounts,
        int rounds, Action<string>? progress = null)
    {
        var results = new List<RankScalingResult>();
        foreach (var ranks in rankCounts)
        {
            var steps = new double[rounds];
            var reduces = new double[rounds];
            InProcessGroup.Run(ranks, group =>
            {
                using var oneThread = CpuThreads.Limit(1);
                using var step = SyntheticStep.Randomized(new FastCpuOps(), config, batchSize, sequenceLength, seed: 1 + group.Rank);
                var reduce = 0.0;
                var host = step.Model.Gradients.Chunks.Select(chunk => new float[chunk.Length]).ToArray();
                void AllReduce(LlamaModel<float> model)
                {
                    var started = Stopwatch.GetTimestamp();
                    for (var c = 0; c < host.Length; c++)
                    {
                        model.Gradients.Chunks[c].Download(0, host[c]);
                        group.AllReduceSum(host[c]);
                        model.Gradients.Chunks[c].Upload(host[c], 0);
                    }
                    reduce = Stopwatch.GetElapsedTime(started).TotalSeconds;
                }
                // One rank has nothing to reduce, as the trainer's single process: its step is the baseline.
                Action<LlamaModel<float>>? afterBackward = group.Size > 1 ? AllReduce : null;
                step.Run(afterBackward); // warm-up: the JIT and the first allocations
                for (var round = 0; round < rounds; round++)
                {
                    group.Barrier();
                    var started = Stopwatch.GetTimestamp();
                    step.Run(afterBackward);
                    if (!group.IsRoot) continue;
                    steps[round] = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    reduces[round] = reduce;
                }
            });
            var seconds = Median(steps);
            var tokensPerSecond = (double)ranks * batchSize * sequenceLength / seconds;
            var efficiency = results.Count > 0 && results[0].Ranks == 1 ? tokensPerSecond / (ranks * results[0].TokensPerSecond) : double.NaN;
            results.Add(new RankScalingResult(ranks, seconds, Median(reduces), tokensPerSecond, efficiency));
            progress?.Invoke($"{ranks} rank(s): {tokensPerSecond:F0} tokens/s, step {seconds * 1e3:F1} ms, all-reduce {Median(reduces) * 1e3:F2} ms");
        }
        return results;
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The results as a Markdown page: the table, the shape, the CPU and what the numbers do and do not say.</summary>
    public static string Markdown(IReadOnlyList<RankScalingResult> results, string shape, LlamaConfig config, int batchSize, int sequenceLength, int rounds,
        string commandLine, string cpu)
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine($"# Data-parallel SimNPO step on the CPU, {DateTime.UtcNow:yyyy-MM-dd}").AppendLine();
        text.AppendLine($"`{commandLine}`").AppendLine();
        text.AppendLine($"Model {shape} ({ParameterLayout.Count(config):N0} parameters), batch {batchSize} x {sequenceLength} per rank, float32, "
            + $"median of {rounds} steps after one warm-up. CPU: {cpu}; {Environment.ProcessorCount} logical cores. "
            + $"{RuntimeInformation.FrameworkDescription}.").AppendLine();
        text.AppendLine("| ranks | tokens/s | scaling efficiency | step (ms) | all-reduce (ms) | all-reduce share |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            text.AppendLine(string.Create(inv, $"| {r.Ranks} | {r.TokensPerSecond:F0} | {(double.IsNaN(r.Efficiency) ? "-" : $"{100 * r.Efficiency:F0}%")} "
                + $"| {r.StepSeconds * 1e3:F1} | {r.AllReduceSeconds * 1e3:F2} | {100 * r.AllReduceShare:F1}% |"));
        text.AppendLine().AppendLine("Each rank is a thread of one process (InProcessGroup) running its kernels on that one thread, with its own batch; "
            + "scaling efficiency is tokens/s at N ranks over N times one rank's (one rank reduces nothing, as the trainer's single process). "
            + "The all-reduce time is rank 0's from the end of its backward to the sum in hand: the host copies, the in-process group's "
            + "rank-order sum, and any wait for a slower rank.");
        return text.ToString();
    }
}
