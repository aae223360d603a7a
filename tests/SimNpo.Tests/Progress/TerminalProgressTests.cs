using SimNpo.Cli.Progress;

namespace SimNpo.Tests.Progress;

/// <summary>The bars on a terminal: drawn below the command's text, lifted while it prints, summarised when done.</summary>
public class TerminalProgressTests
{
    [Test]
    public void TextLiftsTheBarsAndAFinishedPhaseLeavesItsSummary()
    {
        var (clock, screen) = (new FakeClock(), new StringWriter());
        using var bars = new TerminalProgress(screen, clock, () => 200);
        var stdout = new ProgressAwareWriter(screen, bars);
        var task = bars.Start("eval", 4, "items");
        clock.Set(2);
        task.Advance(); // 2 s after the last draw: redrawn (they are at most 10 a second)
        stdout.WriteLine("hello");
        clock.Set(4);
        task.Advance();
        task.Dispose();
        const string lift = "\x1b[1F\x1b[J";
        var expected = "[------------------------] eval: 0/4 items (0%) | 0.00 items/s\n"
            + lift + "[######------------------] eval: 1/4 items (25%) | 2.0 s/items | ETA 0:06\n"
            + lift + "hello\n" + "[######------------------] eval: 1/4 items (25%) | 2.0 s/items | ETA 0:06\n"
            + lift + "[############------------] eval: 2/4 items (50%) | 2.0 s/items | ETA 0:04\n"
            + lift + "eval: 2 items in 0:04 (2.0 s/items)\n";
        Assert.That(screen.ToString(), Is.EqualTo(expected));
    }
}
