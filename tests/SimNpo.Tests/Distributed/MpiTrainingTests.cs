using System.Text.RegularExpressions;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Training;

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
        Assert.That(Regex.Matches(output, "^done: ", RegexOptions.Multiline), Has.Count.EqualTo(1), "rank 0 alone reports:\n" + output);
        Assert.That(output, Does.Not.Contain("\u001b"), "no terminal codes (launch runs the ranks with TERM=dumb)");
    }

    /// <summary>
    /// SIGKILL rank 1 of a `launch -n 2` run after its first checkpoint, at whatever point of a step it is: the whole job
    /// ends with an error naming the killed rank, the checkpoint is kept, and `--resume` on 2 ranks ends on the very bits of
    /// a run never interrupted (one process: the same bits as two, see above).
    /// </summary>
    [Test]
    public void ARankKilledMidStepEndsTheJobAndTheResumeContinuesBitwise()
    {
        string[] Long(string folder, params string[] extra) => Unlearn(folder, ["--epochs", "100", .. extra]);
        var uninterrupted = _run.File("uninterrupted");
        var (code, output) = SimnpoProcess.Run(Long(uninterrupted));
        Assert.That(code, Is.Zero, output);

        var folder = _run.File("killed");
        using (var job = SimnpoProcess.Start(["launch", "-n", "2", "--", .. Long(folder)]))
        {
            // Training is a fraction of the job (most of it is starting .NET and MPI): find rank 1 while the ranks start,
            // then kill it as soon as the first checkpoint is complete, a few steps into the run.
            int? victim = null;
            var deadline = DateTime.UtcNow + SimnpoProcess.Limit;
            while (!job.HasExited && DateTime.UtcNow < deadline && (victim = RankProcesses.Find(job.Process.Id, rank: 1)) is null) Thread.Sleep(10);
            while (!job.HasExited && DateTime.UtcNow < deadline && Checkpoint.Latest(folder) is null) Thread.Sleep(5);
            if (victim is null || job.HasExited) Assert.Fail("the run ended (or passed its time limit) before rank 1 could be killed:\n" + job.Wait().Output);
            RankProcesses.Kill(victim!.Value);
            (code, output) = job.Wait();
        }
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("process rank 1").And.Contain("signal 9"), "the launcher names the killed rank");
        Assert.That(output, Does.Contain("error: the job failed: a rank or the launcher ended on signal 9"), "launch says what happened");
        Assert.That(File.Exists(Path.Combine(folder, "model.safetensors")), Is.False, "the run did not finish");
        var kept = Checkpoint.Latest(folder);
        Assert.That(kept, Is.Not.Null, "the last good checkpoint is kept");
        TestContext.Out.WriteLine($"killed after {Path.GetFileName(kept)}");

        (code, output) = SimnpoProcess.Run(["launch", "-n", "2", "--", .. Long(folder, "--resume")]);
        Assert.That(code, Is.Zero, output);
        Assert.That(TinyRun.Weights(folder), Is.EqualTo(TinyRun.Weights(uninterrupted)), "model.safetensors bit for bit");
        Assert.That(Log(folder), Is.EqualTo(Log(uninterrupted)), "the same losses and gradient norms in the log");
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
