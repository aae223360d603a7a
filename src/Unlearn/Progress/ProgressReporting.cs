namespace SimNpo.Unlearn.Progress;

/// Ambient reporter: silent by default (tests, library users); the CLI installs a terminal or plain-line reporter.
/// Under MPI only rank 0 draws; other ranks keep (or are given) the silent one.
public static class ProgressReporting
{
    private static IProgressReporter current = SilentProgress.Instance;

    public static IProgressReporter Current
    {
        get => current;
        set => current = value ?? SilentProgress.Instance;
    }

    /// Starts a phase on the current reporter (shorthand for library code).
    public static IProgressTask Start(string label, long total, string unit) => current.Start(label, total, unit);
}
