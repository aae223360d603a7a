using System.CommandLine;
using SimNpo.Unlearn.Methods;
using SimNpo.Unlearn.Objectives;

namespace SimNpo.Cli;

/// <summary>Help text that lists training methods, written from the registry so a new method shows up by itself.</summary>
public static partial class CommonOptions
{
    /// <summary>"β of simnpo (default 2.5), npo (default 0.1), ...": the methods among these that have a β.</summary>
    public static string BetaDescription(IEnumerable<TrainingMethod> methods) =>
        "β of " + string.Join(", ", methods.Where(m => m.DefaultBeta is not null).Select(m => $"{m.Name} (default {m.DefaultBeta})"));

    /// <summary>--gamma-form: where SimNPO's γ enters σ (<see cref="GammaForm"/>).</summary>
    public static Option<string> GammaFormOption() => new Option<string>("--gamma-form")
        { Description = "paper: σ(−β·ℓ − γ) as the paper writes it; code: σ(−β·ℓ − β·γ) as the public code computes it",
        DefaultValueFactory = _ => GammaForm.Paper }.AcceptOnlyFromAmong(GammaForm.All);
}
