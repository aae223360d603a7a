namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="Embedding"/> in parallel. The forward copies rows (their words, in any storage) over fixed ranges of rows.
/// The backward scatter-adds without atomics: the table's columns are cut into fixed blocks, one per task, and each task
/// walks every row in order for its block, so a token that repeats gets its rows added in row order, as in the reference,
/// whatever the schedule; each addition is rounded to the storage, as the reference's are to its type. The model also
/// uses the pair with width 1 for its per-sequence sums and weights.
/// </summary>
internal static class FastEmbedding
{
    /// <summary>Columns per block of the backward: four cache lines of each row.</summary>
    private const int ColumnBlock = 64;

    /// <summary>output[r, :] = table[tokens[r], :].</summary>
    public static void Forward<TWord>(Memory<TWord> output, ReadOnlyMemory<int> tokens, ReadOnlyMemory<TWord> table, int dim)
    {
        var vocab = ShapeCheck.Rows(table.Length, dim, nameof(table));
        ShapeCheck.Length(output.Length, tokens.Length * dim, nameof(output));
        CheckTokens(tokens.Span, vocab);
        Partitions.For(tokens.Length, Partitions.Rows(dim), part =>
        {
            for (var r = part.Start; r < part.End; r++) table.Span.Slice(tokens.Span[r] * dim, dim).CopyTo(output.Span.Slice(r * dim, dim));
        });
    }

    /// <summary>tableGrad[tokens[r], :] += outputGrad[r, :].</summary>
    public static void Backward<TWord, TFormat>(Memory<TWord> tableGrad, ReadOnlyMemory<int> tokens, ReadOnlyMemory<TWord> outputGrad, int dim)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var vocab = ShapeCheck.Rows(tableGrad.Length, dim, nameof(tableGrad));
        ShapeCheck.Length(outputGrad.Length, tokens.Length * dim, nameof(outputGrad));
        CheckTokens(tokens.Span, vocab);
        Partitions.For(dim, ColumnBlock, block =>
        {
            for (var r = 0; r < tokens.Length; r++)
            {
                var row = tableGrad.Span.Slice(tokens.Span[r] * dim + block.Start, block.Length);
                Vectors.Add<TWord, TFormat>(row, row, outputGrad.Span.Slice(r * dim + block.Start, block.Length));
            }
        });
    }

    /// <summary>Checked before any work, so a bad token is reported as itself rather than from inside a parallel loop.</summary>
    private static void CheckTokens(ReadOnlySpan<int> tokens, int vocab)
    {
        foreach (var token in tokens)
            if ((uint)token >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(tokens), $"token {token} outside a vocabulary of {vocab}");
    }
}
