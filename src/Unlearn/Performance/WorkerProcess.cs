using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// A benchmark side in its own process, driven through <see cref="WorkerProtocol"/>: its peak memory is its own, not
/// this process's. Its stderr is kept (the last lines) to explain a failure.
/// </summary>
public sealed class WorkerProcess : IBenchRounds
{
    private const int KeptErrorChars = 4000;
    private readonly Process _process;
    private readonly StringBuilder _errors = new();

    private WorkerProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_errors)
            {
                _errors.AppendLine(e.Data);
                if (_errors.Length > KeptErrorChars) _errors.Remove(0, _errors.Length - KeptErrorChars);
            }
        };
        process.BeginErrorReadLine();
        Info = Read(WorkerProtocol.ParseReady);
    }

    /// <summary>Starts the worker and waits for its warm-up to end (its "ready" line).</summary>
    public static WorkerProcess Start(string name, string fileName, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        try
        {
            return new WorkerProcess(name, Process.Start(start)!);
        }
        catch (Win32Exception e)
        {
            throw new FileNotFoundException($"cannot start {name}: '{fileName}' ({e.Message})", fileName, e);
        }
    }

    public string Name { get; }

    public IReadOnlyDictionary<string, string> Info { get; }

    public IReadOnlyDictionary<string, double> Round()
    {
        _process.StandardInput.WriteLine(WorkerProtocol.RoundRequest);
        _process.StandardInput.Flush();
        return Read(WorkerProtocol.ParseFigures);
    }

    public IReadOnlyDictionary<string, long> Finish()
    {
        _process.StandardInput.Close();
        var memory = Read(WorkerProtocol.ParseMemory);
        _process.WaitForExit();
        if (_process.ExitCode != 0) throw Failed($"exited with code {_process.ExitCode}");
        return memory;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    /// <summary>The next line, parsed; a worker that dies or talks nonsense is reported with its stderr.</summary>
    private T Read<T>(Func<string?, string, T> parse)
    {
        var line = _process.StandardOutput.ReadLine();
        try
        {
            return parse(line, Name);
        }
        catch (IOException e)
        {
            if (line is null) _process.WaitForExit();
            throw Failed(e.Message);
        }
    }

    private IOException Failed(string problem)
    {
        string errors;
        lock (_errors) errors = _errors.ToString().Trim();
        return new IOException(errors.Length == 0 ? $"{Name}: {problem}" : $"{Name}: {problem}; its stderr ends:\n{errors}");
    }
}
