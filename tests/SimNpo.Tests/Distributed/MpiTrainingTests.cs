using System.Text.RegularExpressions;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Tests.Distributed;

/// <summary>
/// `simnpo launch -n 2 -- unlearn ...` on the tiny task: real processes over Open MPI (or MPICH). Skipped with a message
/// where no MPI launcher is installed, and failed under CI=true, whose .ci/run installs Open MPI.
/// </summary>
[NonParallelizable]
public class MpiTrainingTests
{
    private TinyRun _run = null!;
    private string _single = null!;

    /// <summary>2 micro-batches of 2 per step (3 steps an epoch), so each of 2 ranks runs one.</summary>
    private string[] Unlearn(string output, params string[] extra) =>
        _run.Unlearn(output, ["--batch-size", "2", "--grad-accum", "2", "--epochs", "4", .. extra]);

    [OneTimeSetUp]
    public void TrainOneProcess()
    {
        RequireLauncher();
        _run = new TinyRun();
        _single = _run.File("single");
        var (code, output) = SimnpoProcess.Run(Unlearn(_single));
        Assert.That(code, Is.Zero, output);
    }

    [OneTimeTearDown]
    public void RemoveFiles() => _run?.Dispose();

    private static void RequireLauncher()
    {
        if (MpiLauncher.Find() is not null) return;
        var message = "no mpirun or mpiexec on the PATH: the multi-rank tests need Open MPI (apt-get install openmpi-bin libopenmpi-dev)";
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail(message);
        Assert.Ignore(message);
    }

    private static string[] Log(string folder) =>
        File.ReadAllLines(Path.Combine(folder, "log.jsonl")).Select(line => Regex.Replace(line, "\"seconds\":[^,}]*", "")).ToArray();

    [Test]
    public void TwoRanksTrainTheSameBitsAsOne()
    {
        var folder = _run.File("two");
        var (code, output) = SimnpoProcess.Run(["launch", "-n", "2", "--", .. Unlearn(folder)]);
        Assert.That(code, Is.Zero, output);
        Assert.That(TinyRun.Weights(folder), Is.EqualTo(TinyRun.Weights(_single)), "model.safetensors bit for bit");
        Assert.That(Log(folder), Is.EqualTo(Log(_single)), "the same losses and gradient norms in the log");
        // mpirun gives each rank a pseudo-terminal, on which .NET's console writes the keypad-mode codes (ESC [?1h ESC =) when it
        // starts, at whatever point of the merged output that rank gets there: they are not lines of ours.
        var lines = Regex.Replace(output, "\u001b\\[\\?1h\u001b=", "");
        Assert.That(Regex.Matches(lines, "^done: ", RegexOptions.Multiline), Has.Count.EqualTo(1), "rank 0 alone reports:\n" + output);
    }

    /// <summary>A failure in rank 0 alone (its claim of --out is refused; rank 1 is already waiting in a collective) ends the
    /// whole job with rank 0's message instead of leaving rank 1 waiting.</summary>
    [Test]
    public void AFailureInOneRankEndsTheWholeJob()
    {
        var folder = _run.File("occupied");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not a run");
        var (code, output) = SimnpoProcess.Run(["launch", "-n", "2", "--", .. Unlearn(folder)]);
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("is not empty and holds no run of simnpo"));
        Assert.That(output, Does.Contain("rank 0 of 2 failed (exit code 2): ending every rank of the job"));
    }
}
