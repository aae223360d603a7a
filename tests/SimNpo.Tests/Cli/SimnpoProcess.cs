using System.Diagnostics;
using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>Runs `simnpo` as a process of its own, through Program's entry point, as a shell would.</summary>
public static class SimnpoProcess
{
    public static (int Code, string Output) Run(params string[] args)
    {
        var (file, prefix) = BenchCommand.SimnpoExecutable();
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in prefix.Concat(args)) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }
}
