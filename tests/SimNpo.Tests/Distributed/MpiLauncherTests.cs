using SimNpo.Cli;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Tests.Distributed;

public class MpiLauncherTests
{
    private static readonly string[] Command = ["simnpo", "unlearn"];

    [Test]
    public void OpenMpiGetsRootOversubscribeAndNoBindingFlags()
    {
        var launcher = new MpiLauncher("/usr/bin/mpirun", MpiLauncher.Flavor.OpenMpi);
        Assert.That(launcher.Arguments(4, Command, asRoot: true, cores: 2),
            Is.EqualTo(new[]
            {
                "-n", "4", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1", "-x", "TERM=dumb", "simnpo", "unlearn",
            }));
        Assert.That(launcher.Arguments(2, Command, asRoot: false, cores: 2),
            Is.EqualTo(new[] { "-n", "2", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1", "-x", "TERM=dumb", "simnpo", "unlearn" }));
    }

    [Test]
    public void MpichNeedsOnlyTheCountAndHosts()
    {
        var launcher = new MpiLauncher("/usr/bin/mpiexec.mpich", MpiLauncher.Flavor.Mpich);
        Assert.That(launcher.Arguments(2, Command, asRoot: true, cores: 1, hosts: "a,b"),
            Is.EqualTo(new[] { "-n", "2", "-genv", "TERM", "dumb", "-hosts", "a,b", "simnpo", "unlearn" }));
    }

    /// <summary>The ranks' own codes pass through; a rank killed by a signal (Open MPI: 128 + the signal) is a failure, said in words.</summary>
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    public void TheRanksExitCodesPassThrough(int code) => Assert.That(MpiLauncher.Outcome(code), Is.EqualTo((code, (string?)null)));

    [Test]
    public void ARankKilledBySignalIsAFailureThatSaysSoAndHowToResume()
    {
        var (code, message) = MpiLauncher.Outcome(137);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(message, Does.Contain("a rank or the launcher ended on signal 9 (SIGKILL").And.Contain("--resume"));
        Assert.That(MpiLauncher.Outcome(134).Message, Does.Contain("signal 6,"));
        Assert.That(MpiLauncher.Outcome(255).Message, Does.Contain("the launcher exited with code 255"));
        Assert.That(MpiLauncher.Outcome(137, ranksAreSimnpo: false), Is.EqualTo((137, (string?)null)), "another program's code passes through");
    }

    [Test]
    public void NoLauncherOnThePathIsFoundAsNone() => Assert.That(MpiLauncher.Find(path: ""), Is.Null);

    /// <summary>launch without an MPI launcher on the PATH: exit 1 saying what to install. (PATH is the process's: run alone.)</summary>
    [Test]
    [NonParallelizable]
    public void LaunchWithoutMpiSaysWhatToInstall()
    {
        var path = Environment.GetEnvironmentVariable("PATH");
        var error = new StringWriter();
        try
        {
            Environment.SetEnvironmentVariable("PATH", "");
            Assert.That(CommandRunner.Run(Commands.Root(), ["launch", "-n", "2", "--", "info"], new StringWriter(), error), Is.EqualTo(1));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
        Assert.That(error.ToString(), Does.Contain("no MPI launcher (mpirun or mpiexec) on the PATH: install Open MPI"));
    }
}
