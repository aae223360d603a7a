using SimNpo.Unlearn.Progress;

namespace SimNpo.Cli.Progress;

/// <summary>
/// Progress for output that is not a terminal (a log file, CI): a line each time a phase passes another tenth of its
/// total, at most one per <see cref="MinimumGap"/> (so short phases stay short), a line at least every
/// <see cref="Heartbeat"/> while one runs (also without a total), and a summary line when it ends.
/// </summary>
public sealed class PlainProgress(TextWriter writer, TimeProvider clock) : IProgressReporter
{
    public static readonly TimeSpan MinimumGap = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();

    private TimeSpan Now => clock.GetElapsedTime(0);

    public IProgressTask Start(string label, long total, string unit)
    {
        lock (_lock) return new Phase(this, new ProgressState(label, total, unit, Now));
    }

    private void Write(string line)
    {
        writer.WriteLine(line);
        writer.Flush();
    }

    private sealed class Phase(PlainProgress owner, ProgressState state) : IProgressTask
    {
        private TimeSpan _lastLine = state.Started;
        private int _lastTenth;
        private bool _ended;

        public void Advance(long amount = 1)
        {
            lock (owner._lock)
            {
                state.Done += amount;
                var now = owner.Now;
                var tenth = state.HasTotal ? (int)Math.Floor(state.Fraction * 10) : 0;
                var sinceLast = now - _lastLine;
                if ((tenth > _lastTenth && tenth < 10 && sinceLast >= MinimumGap) || sinceLast >= Heartbeat)
                {
                    owner.Write(state.Line(now));
                    (_lastLine, _lastTenth) = (now, tenth);
                }
            }
        }

        public void SetTotal(long total)
        {
            lock (owner._lock) state.Total = total;
        }

        public void Describe(string status)
        {
            lock (owner._lock) state.Status = status;
        }

        public void Dispose()
        {
            lock (owner._lock)
            {
                if (_ended) return;
                _ended = true;
                owner.Write(state.Summary(owner.Now));
            }
        }
    }
}
