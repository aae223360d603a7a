using System.Globalization;

namespace SimNpo.Tests.Distributed;

/// <summary>
/// Finds an MPI rank's process on this machine through Linux's /proc: among the processes below a launcher, the one whose
/// environment names the rank (Open MPI's OMPI_COMM_WORLD_RANK, MPICH's PMI_RANK, set by the launcher before it runs the program).
/// </summary>
public static class RankProcesses
{
    /// <summary>SIGKILL (what Process.Kill sends on Linux), to a process this one did not start.</summary>
    public static void Kill(int pid) => System.Diagnostics.Process.GetProcessById(pid).Kill();

    public static int? Find(int launcher, int rank)
    {
        var wanted = rank.ToString(CultureInfo.InvariantCulture);
        return Descendants(launcher).Cast<int?>().FirstOrDefault(pid => RankOf(pid!.Value) == wanted);
    }

    private static IEnumerable<int> Descendants(int root)
    {
        var children = Directory.GetDirectories("/proc")
            .Select(path => int.TryParse(Path.GetFileName(path), out var pid) ? pid : 0)
            .Where(pid => pid > 0)
            .Select(pid => (Pid: pid, Parent: ParentOf(pid)))
            .ToLookup(process => process.Parent, process => process.Pid);
        var pending = new Queue<int>([root]);
        while (pending.TryDequeue(out var parent))
            foreach (var child in children[parent])
            {
                yield return child;
                pending.Enqueue(child);
            }
    }

    /// <summary>/proc/PID/stat is "pid (name) state ppid ...": the name may hold spaces and parentheses, so read after the last ')'.</summary>
    private static int ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (IOException) { return 0; } // the process ended meanwhile
    }

    private static string? RankOf(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/environ").Split('\0')
                .Select(entry => entry.Split('=', 2))
                .FirstOrDefault(pair => pair[0] is "OMPI_COMM_WORLD_RANK" or "PMI_RANK" && pair.Length == 2)?[1];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
