using SimNpo.Cli.Progress;

namespace SimNpo.Tests.Progress;

/// <summary>The lines redirected output gets: when they come, and their rate and time left, on a clock moved by hand.</summary>
public class PlainProgressTests
{
    [Test]
    public void LinesComeEachTenthAtMostOncePerSecondWithRateAndEta()
    {
        var (clock, output) = (new FakeClock(), new StringWriter());
        var reporter = new PlainProgress(output, clock);
        var task = reporter.Start("train", 100, "steps");
        // 5 steps/s: each tenth (10 steps) takes 2 s, so the 10% and 20% lines both come.
        for (var step = 1; step <= 20; step++)
        {
            clock.Set(step * 0.2);
            task.Advance();
        }
        // 70 steps at once 0.5 s later pass four tenths but come within the 1 s gap: no line.
        clock.Set(4.5);
        task.Advance(70);
        // At 5 s the gap has passed: 91 steps in 5 s = 18.2 steps/s, 9 left = 0.49 s, printed as 0:00.
        clock.Set(5.0);
        task.Advance();
        task.Describe("loss 0.5");
        // No tenth crossed, but 35 s since the last line (the 30 s heartbeat): 92/40 = 2.30 steps/s, 8 left = 3.48 s.
        clock.Set(40);
        task.Advance();
        clock.Set(41);
        task.Dispose();
        task.Dispose(); // ending twice prints one summary

        string[] expected =
        [
            "train: 10/100 steps (10%) | 5.00 steps/s | ETA 0:18",   // 90 left at 5/s
            "train: 20/100 steps (20%) | 5.00 steps/s | ETA 0:16",
            "train: 91/100 steps (91%) | 18.20 steps/s | ETA 0:00",
            "train: 92/100 steps (92%) | 2.30 steps/s | ETA 0:03 | loss 0.5",
            "train: 92 steps in 0:41 (2.24 steps/s) | loss 0.5",     // 92/41 = 2.2439
        ];
        Assert.That(Lines(output), Is.EqualTo(expected));
    }

    [Test]
    public void APhaseWithoutTotalPrintsOnlyItsHeartbeatAndSummary()
    {
        var (clock, output) = (new FakeClock(), new StringWriter());
        var task = new PlainProgress(output, clock).Start("download", 0, "B");
        clock.Set(10);
        task.Advance(1_500_000);
        Assert.That(Lines(output), Is.Empty);
        clock.Set(31);
        task.Advance(500_000);
        task.SetTotal(4_000_000);
        clock.Set(62);
        task.Advance(2_000_000);
        clock.Set(64);
        task.Dispose();
        Assert.That(Lines(output), Is.EqualTo(new[]
        {
            "download: 2.0M B | 64.5KB/s",                               // 2e6 B / 31 s = 64,516 B/s
            "download: 4.0M/4.0M B (100%) | 64.5KB/s | ETA 0:00",        // 4e6 / 62
            "download: 4.0M B in 1:04 (62.5KB/s)",                       // 4e6 / 64
        }));
    }

    [Test]
    public void SlowUnitsAreGivenAsSecondsPerUnit()
    {
        var state = new ProgressState("eval", 10, "items", TimeSpan.Zero) { Done = 2 };
        // 2 items in 8 s: 0.25 items/s is 4.0 s/items, 8 left take 32 s.
        Assert.That(state.Line(TimeSpan.FromSeconds(8)), Is.EqualTo("eval: 2/10 items (20%) | 4.0 s/items | ETA 0:32"));
        Assert.That(ProgressFormat.Duration(TimeSpan.FromSeconds(3723.4)), Is.EqualTo("1:02:03"));
    }

    private static string[] Lines(StringWriter output) => output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
