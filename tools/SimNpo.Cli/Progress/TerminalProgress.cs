using SimNpo.Unlearn.Progress;

namespace SimNpo.Cli.Progress;

/// <summary>
/// Progress bars at the bottom of a terminal, one per running phase (nested phases stack), redrawn in place with ANSI
/// cursor movements at most ten times a second; a finished phase leaves its summary line above them. Text the command
/// writes goes through <see cref="ProgressAwareWriter"/>, which lifts the bars off the screen while it prints.
/// </summary>
public sealed class TerminalProgress(TextWriter terminal, TimeProvider clock, Func<int> width) : IProgressReporter, IDisposable
{
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);
    private const int BarWidth = 24;

    private readonly Lock _lock = new();
    private readonly List<ProgressState> _running = [];
    private int _drawnLines;
    private TimeSpan _lastDraw = TimeSpan.MinValue;
    private bool _heldByOpenLine;

    internal Lock Sync => _lock;

    private TimeSpan Now => clock.GetElapsedTime(0);

    public IProgressTask Start(string label, long total, string unit)
    {
        lock (_lock)
        {
            var state = new ProgressState(label, total, unit, Now);
            _running.Add(state);
            Draw(force: true);
            return new Phase(this, state);
        }
    }

    /// <summary>Removes the bars from the screen (the caller holds <see cref="Sync"/>), leaving the cursor where they began.</summary>
    internal void Hide()
    {
        if (_drawnLines == 0) return;
        terminal.Write($"\x1b[{_drawnLines}F\x1b[J");
        terminal.Flush();
        _drawnLines = 0;
    }

    /// <summary>Draws the bars again after text was written; while that text's last line is open, they stay hidden.</summary>
    internal void Show(bool lineOpen)
    {
        _heldByOpenLine = lineOpen;
        Draw(force: true);
    }

    private void Draw(bool force)
    {
        var now = Now;
        if (_heldByOpenLine || (!force && now - _lastDraw < RedrawInterval)) return;
        Hide();
        var columns = Math.Max(40, width());
        foreach (var state in _running) terminal.Write(Bar(state, now, columns) + "\n");
        terminal.Flush();
        (_drawnLines, _lastDraw) = (_running.Count, now);
    }

    private static string Bar(ProgressState state, TimeSpan now, int columns)
    {
        var filled = (int)Math.Round(state.Fraction * BarWidth);
        var bar = state.HasTotal ? $"[{new string('#', filled)}{new string('-', BarWidth - filled)}] " : "";
        var line = bar + state.Line(now);
        // A line wider than the terminal would wrap and break the cursor arithmetic.
        return line.Length < columns ? line : line[..(columns - 2)] + "…";
    }

    private void End(ProgressState state)
    {
        Hide();
        _running.Remove(state);
        if (!_heldByOpenLine) terminal.Write(state.Summary(Now) + "\n");
        Draw(force: true);
    }

    /// <summary>Clears whatever bars are left (a command that failed mid-phase), so the error line stands alone.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _heldByOpenLine = false;
            Hide();
            _running.Clear();
        }
    }

    private sealed class Phase(TerminalProgress owner, ProgressState state) : IProgressTask
    {
        private bool _ended;

        public void Advance(long amount = 1)
        {
            lock (owner._lock)
            {
                state.Done += amount;
                owner.Draw(force: false);
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
                owner.End(state);
            }
        }
    }
}
