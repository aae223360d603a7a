using System.Diagnostics;
using System.Text;
using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>Runs `simnpo` as a process of its own, through Program's entry point, as a shell would.</summary>
public static class SimnpoProcess
{
    /// <summary>How long a test waits for a simnpo process (an MPI job that hangs fails the test instead of the whole run).</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    public static (int Code, string Output) Run(params string[] args)
    {
        using var running = Start(args);
        return running.Wait();
    }

    /// <summary>Starts simnpo and returns at once; the output is collected while it runs.</summary>
    public static Running Start(params string[] args)
    {
        var (file, prefix) = BenchCommand.SimnpoExecutable();
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in prefix.Concat(args)) start.ArgumentList.Add(argument);
        return new Running(Process.Start(start)!);
    }

    public sealed class Running : IDisposable
    {
        private readonly StringBuilder _output = new();
        private readonly Task _outputRead;
        private readonly Task<string> _errorRead;

        internal Running(Process process)
        {
            Process = process;
            _errorRead = process.StandardError.ReadToEndAsync();
            _outputRead = Task.Run(() =>
            {
                while (process.StandardOutput.ReadLine() is { } line) lock (_output) _output.AppendLine(line);
            });
        }

        public Process Process { get; }

        public bool HasExited => Process.HasExited;

        public (int Code, string Output) Wait()
        {
            if (!Process.WaitForExit(Limit))
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
                lock (_output) Assert.Fail($"simnpo ran past {Limit.TotalMinutes} minutes and was killed:\n{_output}");
            }
            _outputRead.Wait();
            lock (_output) return (Process.ExitCode, _output + _errorRead.Result);
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }
}
