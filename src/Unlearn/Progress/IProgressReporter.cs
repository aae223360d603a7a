namespace SimNpo.Unlearn.Progress;

/// Starts progress phases; library code reports through it and the CLI decides how (or whether) they are drawn.
public interface IProgressReporter
{
    /// A phase named `label` of `total` units (0 or less: unknown), counted in `unit` ("step", "item", "B").
    IProgressTask Start(string label, long total, string unit);
}
