using SimNpo.Unlearn.Progress;

namespace SimNpo.Cli.Progress;

/// <summary>
/// A phase of a reporter that keeps one lock for all its phases: counting, totals and status under that lock, and the
/// reporter's own reaction to an advance and to the end (which comes once, however often the phase is disposed).
/// </summary>
public abstract class ProgressPhase(Lock sync, ProgressState state) : IProgressTask
{
    private bool _ended;

    protected ProgressState State => state;

    protected abstract void Advanced();

    protected abstract void Ended();

    public void Advance(long amount = 1)
    {
        lock (sync)
        {
            state.Done += amount;
            Advanced();
        }
    }

    public void SetTotal(long total)
    {
        lock (sync) state.Total = total;
    }

    public void Describe(string status)
    {
        lock (sync) state.Status = status;
    }

    public void Dispose()
    {
        lock (sync)
        {
            if (_ended) return;
            _ended = true;
            Ended();
        }
    }
}
