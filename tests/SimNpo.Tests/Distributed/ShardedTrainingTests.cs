using System.Text.RegularExpressions;
using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Tests.Training;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Distributed;

/// <summary>
/// Data-parallel training with the optimizer sharded (ZeRO stage 1, TrainingJob.ShardOptimizer) against one process, ranks as
/// threads: bf16 weights over float32 master weights that exist only in slices, bf16 moments, chunks of 1000 elements, and
/// the forget and retain log-probs evaluated every step on the ranks' shares. The weights, the log (evaluations included)
/// and every file of the run, checkpoints and final model, are the same bytes.
/// </summary>
public class ShardedTrainingTests
{
    private static TrainingSettings Settings => new()
    {
        Method = "simnpo",
        LearningRate = 5e-3,
        Epochs = 1,
        BatchSize = 2,
        GradAccum = 3,
        Warmup = "1",
        SaveEvery = 1,
        EvalEvery = 1,
        Precision = "bf16",
        OptimizerState = "bf16",
    };

    private static TrainingData Data => new(TinyTask.Forget, TinyTask.Retain);

    private sealed class StopAt(int step) : ITrainingObserver
    {
        public void Message(string text) { }

        public void StepDone(StepRecord record, int totalSteps)
        {
            if (record.Step == step) throw new OperationCanceledException($"stopped at step {step}");
        }
    }

    private static uint[][] Run(int ranks, bool shard, string folder, bool resume = false, ITrainingObserver? observer = null)
    {
        var weights = new uint[ranks][];
        InProcessGroup.Run(ranks, group =>
        {
            using var model = new LlamaModel<float>(TinyTask.Config, new FastCpuOps(), Precision.Bf16, chunkLength: 1000);
            ModelInitializer.Randomize(model, seed: 3, std: 0.1);
            var job = new TrainingJob<float>(model, Settings, Data, folder, observer ?? new SilentObserver())
            {
                Communicator = group, ShardOptimizer = shard, Evaluate = LogProbCurve.For(Data, Settings, group),
            };
            job.Run(resume);
            weights[group.Rank] = model.Parameters.ToArray().Select(BitConverter.SingleToUInt32Bits).ToArray();
        });
        return weights;
    }

    /// <summary>Every file of a run folder and its bytes (log.jsonl without its timings).</summary>
    private static Dictionary<string, string> Contents(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Where(path => !path.EndsWith(".lock", StringComparison.Ordinal)).ToDictionary(
            path => Path.GetRelativePath(folder, path),
            path => path.EndsWith(Trainer<float>.LogFileName, StringComparison.Ordinal)
                ? Regex.Replace(File.ReadAllText(path), "\"seconds\":[^,}]*", "")
                : Convert.ToBase64String(File.ReadAllBytes(path)));

    [Test]
    public void ShardedRunsOnTwoAndThreeRanksWriteTheSingleProcessRunByteForByte()
    {
        using var directory = new TempDirectory();
        var single = Run(1, shard: false, directory.File("n1"))[0];
        var expected = Contents(directory.File("n1"));
        Assert.That(expected.Keys, Has.Some.Contains("optimizer.safetensors"));
        Assert.That(expected[Trainer<float>.LogFileName], Does.Contain(LogProbCurve.ForgetLogProb));
        foreach (var ranks in new[] { 2, 3 })
        {
            var folder = directory.File($"n{ranks}");
            Assert.That(Run(ranks, shard: true, folder), Has.All.EqualTo(single), $"{ranks} ranks' weights");
            Assert.That(Contents(folder), Is.EqualTo(expected), $"{ranks} ranks' files");
        }
    }

    /// <summary>Stopped in step 2 (after step 1's checkpoint), resumed on as many ranks: the uninterrupted run's weights and files.</summary>
    [Test]
    public void AStoppedShardedRunResumesToTheSameBytes()
    {
        using var directory = new TempDirectory();
        var whole = Run(2, shard: true, directory.File("whole"))[0];
        var split = directory.File("split");
        Assert.Throws<AggregateException>(() => Run(2, shard: true, split, observer: new StopAt(2)));
        Assert.That(Run(2, shard: true, split, resume: true), Has.All.EqualTo(whole));
        Assert.That(Contents(split), Is.EqualTo(Contents(directory.File("whole"))));
    }
}
