namespace SimNpo.Unlearn.Progress;

/// <summary>Progress over a loop written as a query: <c>items.Reported("VerbMem", "passages").Select(...)</c>.</summary>
public static class ProgressEnumerable
{
    /// <summary>The items, each counted done on the current reporter when the next one is asked for (its work is over by then).</summary>
    public static IEnumerable<T> Reported<T>(this IReadOnlyCollection<T> items, string label, string unit)
    {
        using var progress = ProgressReporting.Start(label, items.Count, unit);
        foreach (var item in items)
        {
            yield return item;
            progress.Advance();
        }
    }
}
