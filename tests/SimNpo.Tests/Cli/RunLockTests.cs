using System.Diagnostics;
using SimNpo.Cli;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Cli;

/// <summary>
/// One run per output folder: a run holds run.lock for its whole length, a second run or resume on the folder stops at
/// once naming the holder, a lock left by a dead process is taken over, and a log torn by a kill is read tolerantly.
/// </summary>
public class RunLockTests
{
    [Test]
    public void ASecondRunOnTheFolderStopsAtOnceNamingTheHolder()
    {
        using var run = new TinyRun();
        var output = run.File("run");
        using (RunLock.Acquire(output, _ => { }))
        {
            foreach (var args in new[] { run.Unlearn(output), run.Unlearn(output, "--resume") })
            {
                var second = Simnpo.Run(args);
                Assert.That(second.Code, Is.EqualTo(CommandRunner.Failure), second.Output);
                Assert.That(second.Error,
                    Is.EqualTo($"error: {output}: is in use by process {Environment.ProcessId}, which holds {output}/{RunLock.FileName}; " +
                    "wait for that run to end or choose another output folder\n"));
                Assert.That(second.Output, Is.Empty, "stopped before loading anything");
            }
        }
        var first = Simnpo.Run(run.Unlearn(output));
        Assert.That(first.Code, Is.EqualTo(CommandRunner.Success), first.Error);
        Assert.That(File.Exists(Path.Combine(output, RunLock.FileName)) || File.Exists(Path.Combine(output, RunLock.HolderFileName)), Is.False,
            "released at the end");
    }

    [Test]
    public void ALockLeftByADeadProcessIsTakenOver()
    {
        using var run = new TinyRun();
        var output = run.File("run");
        Directory.CreateDirectory(output);
        using var dead = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        dead.WaitForExit();
        File.WriteAllText(Path.Combine(output, RunLock.FileName), "");
        File.WriteAllText(Path.Combine(output, RunLock.HolderFileName), $"{dead.Id}\n");

        var taken = Simnpo.Run(run.Unlearn(output));
        Assert.That(taken.Code, Is.EqualTo(CommandRunner.Success), taken.Error);
        Assert.That(taken.Output, Does.Contain($"took over {output}/{RunLock.FileName} from process {dead.Id}, which ended without releasing it"));
        Assert.That(Directory.EnumerateFiles(output, "run.lock*"), Is.Empty);
    }

    /// <summary>
    /// A run killed while writing step 6's log line, before its checkpoint: the torn line is dropped, the run resumes
    /// from step 4 and ends with the uninterrupted run's weights and log, bit for bit and line for line.
    /// </summary>
    [Test]
    public void ATornLastLogLineIsDroppedOnResume()
    {
        using var run = new TinyRun();
        var (whole, killed) = (run.File("whole"), run.File("killed"));
        Assert.That(Simnpo.Run(run.Unlearn(whole)).Code, Is.EqualTo(CommandRunner.Success));
        Assert.That(Simnpo.Run(run.Unlearn(killed)).Code, Is.EqualTo(CommandRunner.Success));
        Directory.Delete(Path.Combine(killed, "checkpoints", "step-000006"), recursive: true);
        var log = File.ReadAllLines(Path.Combine(killed, "log.jsonl"));
        File.WriteAllText(Path.Combine(killed, "log.jsonl"), string.Join("\n", log[..5]) + "\n" + log[5][..20]);

        var resumed = Simnpo.Run(run.Unlearn(killed, "--resume"));
        Assert.That(resumed.Code, Is.EqualTo(CommandRunner.Success), resumed.Error);
        Assert.That(resumed.Output, Does.Contain($"{killed}/log.jsonl: dropped its last line, cut off when the run was stopped ({log[5][..20]})")
            .And.Contain("step-000004 (step 4)"));
        Assert.That(TinyRun.Weights(killed), Is.EqualTo(TinyRun.Weights(whole)));
        Assert.That(File.ReadAllLines(Path.Combine(killed, "log.jsonl")).Select(WithoutTiming),
            Is.EqualTo(File.ReadAllLines(Path.Combine(whole, "log.jsonl")).Select(WithoutTiming)));
    }

    /// <summary>A log line without its "seconds" field, the one value that differs between two runs.</summary>
    private static string WithoutTiming(string line) => System.Text.RegularExpressions.Regex.Replace(line, "\"seconds\":[^,}]+", "");
}
