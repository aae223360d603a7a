using SimNpo.Unlearn.Progress;

namespace SimNpo.Cli.Progress;

/// <summary>
/// The reporter one command runs under, installed as <see cref="ProgressReporting.Current"/> for its duration. Progress
/// always goes to stderr, so stdout carries only the command's own output (what scripts and tests read). On a terminal
/// (stderr not redirected, TERM not dumb, no CI variable): bars, with stdout and stderr routed around them; otherwise, and
/// for writers a caller supplies (tests): plain lines. --quiet: none.
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
        if (quiet) ProgressReporting.Current = SilentProgress.Instance;
        else if (consoleWriters && IsTerminal())
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
