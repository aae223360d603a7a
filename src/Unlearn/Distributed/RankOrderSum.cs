namespace SimNpo.Unlearn.Distributed;

/// <summary>
/// The one summation every communicator uses: contributions added in rank order, ((r0 + r1) + r2) + ..., each element
/// on its own. Keeping it in one place makes the in-process group and MPI give the same bits as each other.
/// </summary>
public static class RankOrderSum
{
    /// <summary>contributions holds Size blocks of target.Length elements, rank 0 first; target receives their sum.</summary>
    public static void Sum<T>(ReadOnlySpan<T> contributions, Span<T> target)
        where T : unmanaged, System.Numerics.IAdditionOperators<T, T, T>
    {
        var n = target.Length;
        if (n == 0) return;
        if (contributions.Length % n != 0)
            throw new ArgumentException($"RankOrderSum: {contributions.Length} values are not whole blocks of {n}.");
        contributions[..n].CopyTo(target);
        for (var offset = n; offset < contributions.Length; offset += n)
        {
            var block = contributions.Slice(offset, n);
            for (var i = 0; i < n; i++) target[i] += block[i];
        }
    }
}
