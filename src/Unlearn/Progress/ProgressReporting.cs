namespace SimNpo.Unlearn.Progress;

/// Ambient reporter: silent by default (tests, library users); the CLI installs a terminal or plain-line reporter.
/// Under MPI only rank 0 draws; other ranks keep (or are given) the silent one.
/// The value flows with the execution context (threads, tasks and Parallel loops started from where it was set), so two
/// commands run in one process (tests, in-process ranks) each keep their own.
public static class ProgressReporting
{
    private static readonly AsyncLocal<IProgressReporter?> current = new();

    public static IProgressReporter Current
    {
        get => current.Value ?? SilentProgress.Instance;
        set => current.Value = value;
    }

    /// Starts a phase on the current reporter (shorthand for library code).
    public static IProgressTask Start(string label, long total, string unit) => Current.Start(label, total, unit);
}
