using System.Globalization;

namespace SimNpo.Cli.Progress;

/// <summary>
/// One phase as a reporter sees it: counts, status and when it started, and the words both reporters print for it.
/// Not thread-safe: its reporter holds a lock around every use.
/// </summary>
public sealed class ProgressState(string label, long total, string unit, TimeSpan started)
{
    public string Label { get; } = label;
    public string Unit { get; } = unit;
    public long Total { get; set; } = total;
    public long Done { get; set; }
    public string? Status { get; set; }
    public TimeSpan Started { get; } = started;

    public bool HasTotal => Total > 0;

    /// <summary>Fraction done, 0 to 1; 0 without a total.</summary>
    public double Fraction => HasTotal ? Math.Clamp((double)Done / Total, 0, 1) : 0;

    /// <summary>Units per second since the start (the whole phase's mean: steady, and what the ETA assumes).</summary>
    public double Rate(TimeSpan now) => (now - Started).TotalSeconds is var seconds and > 0 ? Done / seconds : 0;

    /// <summary>Time left at the mean rate so far; null without a total or before the first unit.</summary>
    public TimeSpan? Eta(TimeSpan now)
    {
        var rate = Rate(now);
        if (!HasTotal || rate <= 0) return null;
        return TimeSpan.FromSeconds(Math.Max(0, Total - Done) / rate);
    }

    /// <summary>"train: 30/100 steps (30%) | 2.50 steps/s | ETA 0:28 | loss 0.693": the counts, rate, time left and status.</summary>
    public string Line(TimeSpan now)
    {
        var counts = HasTotal
            ? $"{ProgressFormat.Amount(Done, Unit)}/{ProgressFormat.Amount(Total, Unit)} {Unit} ({Fraction * 100:F0}%)"
            : $"{ProgressFormat.Amount(Done, Unit)} {Unit}";
        var eta = Eta(now) is { } left ? $" | ETA {ProgressFormat.Duration(left)}" : "";
        return Invariant($"{Label}: {counts} | {ProgressFormat.Rate(Rate(now), Unit)}{eta}{StatusSuffix}");
    }

    /// <summary>"train: 100 steps in 0:40 (2.50 steps/s) | loss 0.412": what a finished phase leaves behind.</summary>
    public string Summary(TimeSpan now) =>
        Invariant($"{Label}: {ProgressFormat.Amount(Done, Unit)} {Unit} in {ProgressFormat.Duration(now - Started)} ({ProgressFormat.Rate(Rate(now), Unit)}){StatusSuffix}");

    private string StatusSuffix => string.IsNullOrEmpty(Status) ? "" : " | " + Status;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Numbers as the progress lines print them.</summary>
public static class ProgressFormat
{
    /// <summary>Byte counts in KB, MB, GB (powers of 1000, as download tools print them); other units as they are.</summary>
    public static string Amount(long amount, string unit)
    {
        if (unit != "B" || amount < 1000) return amount.ToString(CultureInfo.InvariantCulture);
        var (value, suffix) = amount switch
        {
            < 1_000_000 => (amount / 1e3, "K"),
            < 1_000_000_000 => (amount / 1e6, "M"),
            _ => (amount / 1e9, "G"),
        };
        return value.ToString("F1", CultureInfo.InvariantCulture) + suffix;
    }

    /// <summary>"2.50 steps/s", or "4.0 s/steps" when a unit takes more than a second; bytes as "3.2MB/s".</summary>
    public static string Rate(double perSecond, string unit)
    {
        if (unit == "B") return Amount((long)perSecond, unit) + "B/s";
        if (perSecond >= 1 || perSecond <= 0) return perSecond.ToString("F2", CultureInfo.InvariantCulture) + $" {unit}/s";
        return (1 / perSecond).ToString("F1", CultureInfo.InvariantCulture) + $" s/{unit}";
    }

    /// <summary>"0:28", "12:05", "1:02:03".</summary>
    public static string Duration(TimeSpan span)
    {
        var seconds = (long)Math.Round(Math.Max(0, span.TotalSeconds));
        var (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        return hours > 0 ? $"{hours}:{minutes:D2}:{rest:D2}" : $"{minutes}:{rest:D2}";
    }
}
