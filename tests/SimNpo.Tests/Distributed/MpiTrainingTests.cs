using System.Diagnostics;
using System.Text.RegularExpressions;
using SimNpo.Cli;
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

    /// <summary>2 micro-batches of 2 per step (6 steps an epoch), so each of 2 ranks runs one; 20 epochs give the kill time to land.</summary>
    private string[] Unlearn(string output, params string[] extra) =>
        _run.Unlearn(output, ["--batch-size", "2", "--grad-accum", "2", "--epochs", "20", "--save-every", "10", .. extra]);

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
    }

    /// <summary>
    /// Rank 1 killed mid-run (SIGKILL, as the out-of-memory killer would) ends the whole job with an error naming it and
    /// no hang; the last checkpoint stays, and a resume with 2 ranks ends with the uninterrupted run's bits.
    /// </summary>
    [Test]
    public void AKilledRankEndsTheJobAndTheResumeContinuesBitwise()
    {
        var folder = _run.File("killed");
        var (file, prefix) = BenchCommand.SimnpoExecutable();
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in prefix.Concat(["launch", "-n", "2", "--", .. Unlearn(folder)])) start.ArgumentList.Add(argument);
        using var job = Process.Start(start)!;
        var output = job.StandardOutput.ReadToEndAsync();
        var error = job.StandardError.ReadToEndAsync();
        var log = Path.Combine(folder, "log.jsonl");
        var clock = Stopwatch.StartNew();
        // Past the first checkpoint (step 10) and well before the last of 120 steps.
        while (!job.HasExited && (!File.Exists(log) || File.ReadLines(log).Count() < 14) && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(20);
        Assert.That(job.HasExited, Is.False, "the run ended before rank 1 could be killed:\n" + output.Result + error.Result);
        var rank1 = RankProcess(folder, 1);
        rank1.Kill();
        Assert.That(job.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, "the job must end, not hang, when a rank dies");
        var said = output.Result + error.Result;
        Assert.That(job.ExitCode, Is.Not.Zero, said);
        Assert.That(said, Does.Contain("rank 1").IgnoreCase, "mpirun names the rank that died");
        Assert.That(Path.GetFileName(Unlearn_Checkpoint(folder)), Does.StartWith("step-0000"));

        var (code, resumed) = SimnpoProcess.Run(["launch", "-n", "2", "--", .. Unlearn(folder, "--resume")]);
        Assert.That(code, Is.Zero, resumed);
        Assert.That(resumed, Does.Contain("resuming from"));
        Assert.That(TinyRun.Weights(folder), Is.EqualTo(TinyRun.Weights(_single)), "the resumed model bit for bit");
        Assert.That(Log(folder), Is.EqualTo(Log(_single)));
    }

    private static string Unlearn_Checkpoint(string folder) => SimNpo.Unlearn.Training.Checkpoint.Latest(folder) ?? "none";

    /// <summary>The process of that rank of the job writing into folder: its command line names the folder, its environment the rank.</summary>
    private static Process RankProcess(string folder, int rank)
    {
        foreach (var process in Process.GetProcesses())
        {
            try
            {
                var commandLine = ProcFile(process.Id, "cmdline");
                if (!commandLine.Contains(folder) || commandLine.Contains("launch")) continue;
                var environment = ProcFile(process.Id, "environ");
                if (environment.Contains($"OMPI_COMM_WORLD_RANK={rank}") || environment.Contains($"PMI_RANK={rank}")) return process;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // a process that ended meanwhile, or another user's
            }
        }
        File.WriteAllLines("/tmp/procdump.txt", Process.GetProcesses().Select(p => { try { return p.Id + " " + string.Join(' ', ProcFile(p.Id, "cmdline")); } catch (Exception e) { return p.Id + e.GetType().Name; } }));
        throw new AssertionException($"no process of rank {rank} writing {folder}");
    }

    /// <summary>A /proc file's NUL-separated words (read as a stream: /proc reports a length of 0).</summary>
    private static string[] ProcFile(int pid, string name)
    {
        using var file = new FileStream($"/proc/{pid}/{name}", FileMode.Open, FileAccess.Read);
        using var reader = new StreamReader(file);
        return reader.ReadToEnd().Split('\0');
    }
}
