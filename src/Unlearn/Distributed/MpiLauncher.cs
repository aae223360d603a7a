using System.Diagnostics;

namespace SimNpo.Unlearn.Distributed;

/// <summary>The MPI launcher installed here: its path and whose it is (the flags differ).</summary>
public sealed record MpiLauncher(string Path, MpiLauncher.Flavor Kind)
{
    public enum Flavor { OpenMpi, Mpich }

    public const string NotFound =
        "no MPI launcher (mpirun or mpiexec) on the PATH: install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) "
        + "or MPICH (apt-get install mpich), or run the command without launch for one process";

    /// <summary>mpirun, then mpiexec, then MPICH's own names, on the PATH; null when there is none.</summary>
    public static MpiLauncher? Find(string? path = null)
    {
        var folders = (path ?? Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in new[] { "mpirun", "mpiexec", "mpirun.mpich", "mpiexec.mpich" })
            foreach (var folder in folders)
            {
                var candidate = System.IO.Path.Combine(folder, name);
                if (File.Exists(candidate)) return new MpiLauncher(candidate, KindOf(candidate));
            }
        return null;
    }

    /// <summary>Open MPI's mpirun says "Open MPI" (or "OpenRTE") in its --version; MPICH's Hydra says "HYDRA".</summary>
    private static Flavor KindOf(string launcher)
    {
        var start = new ProcessStartInfo(launcher, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var text = process.StandardOutput.ReadToEnd() + error.Result;
        process.WaitForExit();
        return text.Contains("Open MPI", StringComparison.OrdinalIgnoreCase) || text.Contains("OpenRTE", StringComparison.OrdinalIgnoreCase)
            ? Flavor.OpenMpi : Flavor.Mpich;
    }

    /// <summary>
    /// The launcher's arguments for ranks copies of command. Open MPI refuses root without --allow-run-as-root and more
    /// ranks than cores without --oversubscribe, and by default binds each rank to one core, which would leave one core to
    /// each rank's threads: --bind-to none. A rank waiting in a collective yields its core instead of spinning
    /// (mpi_yield_when_idle), which the CPU path's worker threads and other programs need. Hosts (a,b) go to -H (Open MPI)
    /// or -hosts (MPICH). Each rank's output goes through a pseudo-terminal, on which .NET writes the terminal's keypad-mode
    /// codes (ESC [?1h ESC =) when it starts: TERM=dumb, a terminal without them, keeps them out of the job's output.
    /// </summary>
    public IReadOnlyList<string> Arguments(int ranks, IReadOnlyList<string> command, bool asRoot, int cores, string? hosts = null)
    {
        var arguments = new List<string> { "-n", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (Kind == Flavor.OpenMpi)
        {
            if (asRoot) arguments.Add("--allow-run-as-root");
            if (ranks > cores || hosts is not null) arguments.Add("--oversubscribe");
            arguments.AddRange(["--bind-to", "none", "--mca", "mpi_yield_when_idle", "1", "-x", "TERM=dumb"]);
            if (hosts is not null) arguments.AddRange(["-H", hosts]);
        }
        else
        {
            arguments.AddRange(["-genv", "TERM", "dumb"]);
            if (hosts is not null) arguments.AddRange(["-hosts", hosts]);
        }
        arguments.AddRange(command);
        return arguments;
    }

    /// <summary>
    /// launch's exit code and what it adds to the launcher's own report, from the launcher's exit code. simnpo's ranks exit
    /// 0, 1 or 2, which the launcher passes on; anything else means a rank (or the launcher) died without exiting (Open MPI
    /// reports 128 + the signal): a failure (1), said in words with what a training run keeps. Another program's codes
    /// (launch -- ./other) pass through as they are.
    /// </summary>
    public static (int ExitCode, string? Message) Outcome(int launcherExitCode, bool ranksAreSimnpo = true)
    {
        if (!ranksAreSimnpo || launcherExitCode is 0 or 1 or 2) return (launcherExitCode, null);
        var cause = launcherExitCode is > 128 and < 160
            ? $"a rank or the launcher ended on signal {launcherExitCode - 128}"
                + (launcherExitCode == 137 ? " (SIGKILL: killed, e.g. by the out-of-memory killer)" : "")
            : $"the launcher exited with code {launcherExitCode}";
        return (1, $"error: the job failed: {cause}, and the launcher ended the other ranks. A training run keeps its last complete "
            + "checkpoint: the same command with --resume continues it (with any number of ranks).");
    }
}
