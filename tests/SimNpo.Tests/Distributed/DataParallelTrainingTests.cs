using System.Text.RegularExpressions;
using SimNpo.Model;
using SimNpo.Tests.Training;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Distributed;

/// <summary>
/// The trainer over N ranks as threads (InProcessGroup): the same weights and log, bit for bit, for every N, because
/// the step gradient is the same left-to-right sum of micro-batch gradients whoever computes them (OrderedGradients).
/// </summary>
public class DataParallelTrainingTests
{
    /// <summary>4 micro-batches of 2 per step (3 in an epoch's last step: 12 examples), so N = 3 leaves a rank idle in a round.</summary>
    private static TrainingSettings Settings(string method) => new()
    {
        Method = method,
        LearningRate = 5e-3,
        Epochs = 2,
        BatchSize = 2,
        GradAccum = 4,
        Warmup = "1",
        SaveEvery = 1,
    };

    private static TrainingData Data => new(TinyTask.Forget, TinyTask.Retain);

    /// <summary>Trains on `ranks` threads into folder; returns every rank's final weights.</summary>
    private static float[][] Train(int ranks, TrainingSettings settings, string folder, bool resume = false, ITrainingObserver? observer = null)
    {
        var weights = new float[ranks][];
        InProcessGroup.Run(ranks, communicator =>
        {
            using var model = TinyTask.NewModel();
            new TrainingJob<float>(model, settings, Data, folder, observer ?? new SilentObserver()) { Communicator = communicator }.Run(resume);
            weights[communicator.Rank] = model.Parameters.ToArray();
        });
        return weights;
    }

    private static string[] Log(string folder) =>
        File.ReadAllLines(Path.Combine(folder, Trainer<float>.LogFileName)).Select(line => Regex.Replace(line, "\"seconds\":[^,}]*", "")).ToArray();

    private static string[] Files(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Select(path => Path.GetRelativePath(folder, path)).Order().ToArray();

    [TestCase("simnpo")]
    [TestCase("npo")]
    public void AnyNumberOfRanksGivesTheSameBitsAsOne(string method)
    {
        using var directory = new TempDirectory();
        var single = Train(1, Settings(method), directory.File("n1"))[0];
        foreach (var ranks in new[] { 2, 3, 4 })
        {
            var folder = directory.File($"n{ranks}");
            var weights = Train(ranks, Settings(method), folder);
            Assert.That(weights, Has.All.EqualTo(single), $"{ranks} ranks: every rank holds the one-rank weights, bit for bit");
            Assert.That(Log(folder), Is.EqualTo(Log(directory.File("n1"))), $"{ranks} ranks: the same log");
            Assert.That(Files(folder), Is.EqualTo(Files(directory.File("n1"))), $"{ranks} ranks: the same files, written once by rank 0");
        }
        Assert.That(single, Is.Not.EqualTo(TinyTask.NewModel().Parameters.ToArray()), "the run changed the weights");
    }

    /// <summary>A rank that fails ends the group (the others stop at their next collective); a resume, even with another
    /// number of ranks, continues from the last checkpoint to the uninterrupted run's bits.</summary>
    [Test]
    public void AStoppedRunResumesWithAnyNumberOfRanksToTheSameBits()
    {
        using var directory = new TempDirectory();
        var whole = Train(1, Settings("simnpo"), directory.File("whole"))[0];
        var split = directory.File("split");
        var error = Assert.Throws<AggregateException>(() => Train(2, Settings("simnpo"), split, observer: new TrainerTests.StopAfter(3)));
        Assert.That(error!.InnerException, Is.TypeOf<OperationCanceledException>());
        Assert.That(Checkpoint.Latest(split), Does.EndWith("step-000002"), "step 3 stopped before its checkpoint");
        Assert.That(Train(3, Settings("simnpo"), split, resume: true), Has.All.EqualTo(whole));
        Assert.That(Log(split), Is.EqualTo(Log(directory.File("whole"))));
    }
}
