namespace SimNpo.Kernels.Cpu;

/// <summary>One range of a split: its index among the ranges and its bounds [Start, End).</summary>
internal readonly record struct Part(int Index, int Start, int End)
{
    public int Length => End - Start;

    /// <summary>This range of a buffer.</summary>
    public Span<T> Of<T>(Memory<T> memory) => memory.Span.Slice(Start, Length);

    public ReadOnlySpan<T> Of<T>(ReadOnlyMemory<T> memory) => memory.Span.Slice(Start, Length);
}

/// <summary>
/// Work split into contiguous ranges whose bounds depend only on the sizes, never on the thread count or the schedule:
/// a reduction that sums within each range and then over the ranges in index order gives the same bits on any machine.
/// </summary>
internal static class Partitions
{
    /// <summary>Elements per range of the elementwise ops: 64 KiB of floats, enough work to be worth handing to a thread.</summary>
    public const int Elements = 16384;

    /// <summary>Rows per range for rows of the given width: about <see cref="Elements"/> elements, at least one row.</summary>
    public static int Rows(int width) => Math.Max(1, Elements / Math.Max(1, width));

    public static int Count(int count, int grain) => (int)(((long)count + grain - 1) / grain);

    /// <summary>Runs body over [0, count) in ranges of <paramref name="grain"/>, in parallel; inline when one range holds it all.</summary>
    public static void For(int count, int grain, Action<Part> body)
    {
        if (count <= grain)
        {
            if (count > 0) body(new Part(0, 0, count));
            return;
        }
        Parallel.For(0, Count(count, grain), CpuThreads.Options, p => body(new Part(p, p * grain, (int)Math.Min(count, (long)(p + 1) * grain))));
    }

    /// <summary>Runs <paramref name="row"/> on every row of a [rows, width] tensor, in ranges of <see cref="Rows"/> rows in parallel.</summary>
    public static void ForRows(int rows, int width, Action<int> row) =>
        For(rows, Rows(width), part =>
        {
            for (var r = part.Start; r < part.End; r++) row(r);
        });
}
