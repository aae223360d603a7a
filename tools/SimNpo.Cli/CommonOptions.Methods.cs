using SimNpo.Unlearn.Methods;

namespace SimNpo.Cli;

/// <summary>Help text that lists training methods, written from the registry so a new method shows up by itself.</summary>
public static partial class CommonOptions
{
    /// <summary>"β of simnpo (default 2.5), npo (default 0.1), ...": the methods among these that have a β.</summary>
    public static string BetaDescription(IEnumerable<TrainingMethod> methods) =>
        "β of " + string.Join(", ", methods.Where(m => m.DefaultBeta is not null).Select(m => $"{m.Name} (default {m.DefaultBeta})"));
}
