using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Progress;

namespace SimNpo.Cli.Progress;

/// <summary>
/// The reporter one command runs under, installed as <see cref="ProgressReporting.Current"/> for its duration. Progress
/// always goes to stderr, so stdout carries only the command's own output (what scripts and tests read). On a terminal
/// (stderr not redirected, TERM not dumb, no CI variable): bars, with stdout and stderr routed around them; otherwise, and
/// for writers a caller supplies (tests) and for rank 0 of several: plain lines. --quiet, and ranks other than 0: none.
/// </summary>
public sealed class ProgressSession : IDisposable
{
    private readonly IProgressReporter _previous = ProgressReporting.Current;
    private readonly TerminalProgress? _bars;

    public TextWriter Output { get; }
    public TextWriter Error { get; }

    /// <param name="consoleWriters">whether output and error are the process's own stdout and stderr</param>
    public ProgressSession(bool quiet, TextWriter output, TextWriter error, bool consoleWriters)
    {
        (Output, Error) = (output, error);
        // Under several ranks rank 0 alone reports, in plain lines: mpirun gives each rank a pseudo-terminal, where .NET's
        // terminal setup (for the bars' width) writes control codes into stdout, and where other ranks' output would land.
        var world = Communicators.World;
        if (quiet || !world.IsRoot) ProgressReporting.Current = SilentProgress.Instance;
        else if (consoleWriters && world.Size == 1 && IsTerminal())
        {
            _bars = new TerminalProgress(error, TimeProvider.System, TerminalWidth);
            // Both streams reach the same screen: each write lifts the bars first. stdout redirected needs no care.
            Output = Console.IsOutputRedirected ? output : new ProgressAwareWriter(output, _bars);
            Error = new ProgressAwareWriter(error, _bars);
            ProgressReporting.Current = _bars;
        }
        else ProgressReporting.Current = new PlainProgress(error, TimeProvider.System);
    }

    private static bool IsTerminal() =>
        !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb" && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    private static int TerminalWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return 100;
        }
    }

    public void Dispose()
    {
        _bars?.Dispose();
        ProgressReporting.Current = _previous;
    }
}
