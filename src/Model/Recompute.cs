namespace SimNpo.Model;

/// <summary>Which activations a training forward keeps for its backward, and which the backward computes again.</summary>
public enum Recompute
{
    /// <summary>Every activation of every layer is kept: no forward work is repeated.</summary>
    None,

    /// <summary>
    /// Only each layer's input (the residual stream) is kept, with one layer's worth of activation buffers; the
    /// backward runs each layer's forward again, from its kept input, just before that layer's backward. Costs about
    /// one more forward of the blocks per step; the gradients are bitwise those of <see cref="None"/> (the same ops on
    /// the same inputs).
    /// </summary>
    Layers,
}

public static class RecomputeNames
{
    public static readonly IReadOnlyList<string> All = [.. Enum.GetValues<Recompute>().Select(Name)];

    /// <summary>The name on the command line and in run records: none, layers.</summary>
    public static string Name(this Recompute recompute) => recompute.ToString().ToLowerInvariant();

    public static Recompute Parse(string name) =>
        Enum.GetValues<Recompute>().Cast<Recompute?>().FirstOrDefault(r => r!.Value.Name() == name)
        ?? throw new ArgumentException($"unknown recompute setting '{name}' (choose one of: {string.Join(", ", All)})");
}
