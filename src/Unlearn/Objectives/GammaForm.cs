namespace SimNpo.Unlearn.Objectives;

/// <summary>
/// Where SimNPO's margin γ enters σ. The paper writes σ(−(β/|y|)·log πθ(y|x) − γ) ("paper", the default); the public code
/// computes loss/|y| − γ and multiplies by β, i.e. σ(−(β/|y|)·log πθ(y|x) − β·γ) ("code": OPTML-Group/Unlearn-Simple
/// TOFU/dataloader.py lines 274–276, the same in open-unlearning src/trainer/unlearn/simnpo.py lines 19–20, delta there).
/// </summary>
public static class GammaForm
{
    public const string Paper = "paper";
    public const string Code = "code";

    public static readonly string[] All = [Paper, Code];

    /// <summary>The margin inside σ that <see cref="SimNpoObjective"/> takes: γ, or β·γ for the code's form.</summary>
    public static double Margin(string form, double? beta, double gamma) => form switch
    {
        Paper => gamma,
        Code => (beta ?? 1) * gamma,
        _ => throw new ArgumentException($"gamma-form '{form}' is not one of {string.Join(", ", All)}", nameof(form)),
    };
}
