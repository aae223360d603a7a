namespace SimNpo.Unlearn.Progress;

/// Reports nothing: the default, and what `--quiet` installs.
public sealed class SilentProgress : IProgressReporter, IProgressTask
{
    public static readonly SilentProgress Instance = new();

    private SilentProgress() { }

    public IProgressTask Start(string label, long total, string unit) => this;
    public void Advance(long amount = 1) { }
    public void SetTotal(long total) { }
    public void Describe(string status) { }
    public void Dispose() { }
}
