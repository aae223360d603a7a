using System.CommandLine;
using System.Diagnostics;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Cli;

/// <summary>
/// `simnpo launch -n N -- unlearn ...`: runs N ranks of a simnpo command (or of any program) with the MPI launcher
/// installed here, adding the flags that launcher needs on this machine, and exits with its exit code.
/// </summary>
public static class LaunchCommand
{
    public static Command Create()
    {
        var ranks = new Option<int>("-n", "--ranks") { Description = "number of processes (ranks)", Required = true };
        var hosts = new Option<string?>("--hosts")
        {
            Description = "comma-separated hosts for several machines (Open MPI's -H, MPICH's -hosts); the same simnpo and data paths must exist on each",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "print the launcher's command line instead of running it" };
        var command = new Argument<string[]>("command")
        {
            Description = "after --: a simnpo command and its options (unlearn, finetune, relearn, ...) or another program",
            Arity = ArgumentArity.OneOrMore,
        };
        var launch = new Command("launch", "Run a command as N MPI ranks (data-parallel training) through mpirun or mpiexec") { ranks, hosts, dryRun, command };
        launch.SetAction(parse =>
        {
            var n = parse.GetRequiredValue(ranks);
            if (n < 1) throw new UsageException($"-n must be at least 1, not {n}");
            if (MpiLauncher.Find() is not { } launcher)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {MpiLauncher.NotFound}");
                return CommandRunner.Failure;
            }
            var words = parse.GetRequiredValue(command);
            var (file, prefix) = BenchCommand.SimnpoExecutable();
            // A simnpo subcommand runs this same simnpo in every rank; anything else runs as given.
            var isSimnpo = parse.RootCommandResult.Command.Subcommands.Any(c => c.Name == words[0]);
            string[] program = isSimnpo ? [file, .. prefix, .. words] : words;
            var arguments = launcher.Arguments(n, program, Environment.IsPrivilegedProcess, Environment.ProcessorCount, parse.GetValue(hosts));
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(dryRun))
            {
                output.WriteLine(string.Join(" ", arguments.Prepend(launcher.Path).Select(Quoted)));
                return 0;
            }
            var start = new ProcessStartInfo(launcher.Path) { UseShellExecute = false };
            foreach (var argument in arguments) start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            process.WaitForExit();
            var (code, message) = MpiLauncher.Outcome(process.ExitCode, isSimnpo);
            if (message is not null) parse.InvocationConfiguration.Error.WriteLine(message);
            return code;
        });
        return launch;
    }

    private static string Quoted(string word) =>
        word.Length > 0 && word.All(c => char.IsLetterOrDigit(c) || "-_./=,:+@".Contains(c)) ? word : $"'{word.Replace("'", "'\\''")}'";
}
