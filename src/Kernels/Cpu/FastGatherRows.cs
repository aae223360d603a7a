namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="GatherRows"/> in parallel. The gather copies rows (their words, in any storage) over fixed ranges of rows.
/// The scatter-add needs no atomics: the table's columns are cut into fixed blocks, one per task, and each task walks
/// every row in order for its block, so an index that repeats gets its rows added in row order, as in the reference,
/// whatever the schedule; each addition is rounded to the storage, as the reference's are to its type.
/// </summary>
internal static class FastGatherRows
{
    /// <summary>Columns per block of the scatter-add: four cache lines of each row.</summary>
    private const int ColumnBlock = 64;

    /// <summary>output[r, :] = table[indices[r], :].</summary>
    public static void Gather<TWord>(Memory<TWord> output, ReadOnlyMemory<int> indices, ReadOnlyMemory<TWord> table, int dim)
    {
        var tableRows = ShapeCheck.Rows(table.Length, dim, nameof(table));
        ShapeCheck.Length(output.Length, indices.Length * dim, nameof(output));
        CheckIndices(indices.Span, tableRows);
        Partitions.For(indices.Length, Partitions.Rows(dim), part =>
        {
            for (var r = part.Start; r < part.End; r++) table.Span.Slice(indices.Span[r] * dim, dim).CopyTo(output.Span.Slice(r * dim, dim));
        });
    }

    /// <summary>table[indices[r], :] += rows[r, :].</summary>
    public static void ScatterAdd<TWord, TFormat>(Memory<TWord> table, ReadOnlyMemory<int> indices, ReadOnlyMemory<TWord> rows, int dim)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var tableRows = ShapeCheck.Rows(table.Length, dim, nameof(table));
        ShapeCheck.Length(rows.Length, indices.Length * dim, nameof(rows));
        CheckIndices(indices.Span, tableRows);
        Partitions.For(dim, ColumnBlock, block =>
        {
            for (var r = 0; r < indices.Length; r++)
            {
                var row = table.Span.Slice(indices.Span[r] * dim + block.Start, block.Length);
                Vectors.Add<TWord, TFormat>(row, row, rows.Span.Slice(r * dim + block.Start, block.Length));
            }
        });
    }

    /// <summary>Checked before any work, so a bad index is reported as itself rather than from inside a parallel loop.</summary>
    private static void CheckIndices(ReadOnlySpan<int> indices, int tableRows)
    {
        foreach (var index in indices)
            if ((uint)index >= (uint)tableRows)
                throw new ArgumentOutOfRangeException(nameof(indices), $"row index {index} outside a table of {tableRows} rows");
    }
}
