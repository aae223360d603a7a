namespace SimNpo.Tests.Progress;

/// <summary>A clock the test moves by hand: timestamps in ticks of 100 ns.</summary>
public sealed class FakeClock : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public void Set(double seconds) => _ticks = (long)Math.Round(seconds * TimeSpan.TicksPerSecond);
}
