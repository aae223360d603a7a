namespace SimNpo.Model;

/// <summary>Token ids compared by value, so a config record that holds them still compares by its contents.</summary>
public sealed record TokenIdList(IReadOnlyList<int> Ids)
{
    public bool Contains(int id) => Ids.Contains(id);

    public bool Equals(TokenIdList? other) => other is not null && Ids.SequenceEqual(other.Ids);

    public override int GetHashCode() => Ids.Aggregate(0, HashCode.Combine);
}
