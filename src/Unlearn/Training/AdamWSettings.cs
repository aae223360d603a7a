namespace SimNpo.Unlearn.Training;

/// <summary>
/// AdamW hyperparameters other than the learning rate (which the schedule gives per step); the defaults are
/// torch.optim.AdamW's betas and eps, the weight decay of the public TOFU code, and Hugging Face Trainer's
/// max_grad_norm. MaxGradNorm 0 turns gradient clipping off. The norms' weights and every bias get no weight decay, as
/// in Hugging Face Trainer's optimizer (get_decay_parameter_names leaves out every parameter of a layer in
/// ALL_LAYERNORM_LAYERS, which nn.LayerNorm and the families' RMSNorms join, and every parameter named "bias");
/// DecayNormWeights puts them all back: no command sets it, the test against torch.optim.AdamW with one parameter
/// group does.
/// </summary>
public sealed record AdamWSettings(double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8, double WeightDecay = 0.01, double MaxGradNorm = 1.0,
    bool DecayNormWeights = false)
{
    /// <summary>Whether the parameter named so is decayed: every tensor but the norms' weights and the biases (unless DecayNormWeights).</summary>
    public bool Decays(string parameterName) =>
        DecayNormWeights || !(Model.ParameterLayout.IsNormWeight(parameterName) || Model.ParameterLayout.IsBias(parameterName));

    public void Validate()
    {
        static void Require(bool ok, string name, double value, string range)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, $"AdamW {name} must be {range}, got {value}");
        }
        Require(Beta1 is >= 0 and < 1, nameof(Beta1), Beta1, "in [0, 1)");
        Require(Beta2 is >= 0 and < 1, nameof(Beta2), Beta2, "in [0, 1)");
        Require(Epsilon is >= 0 && double.IsFinite(Epsilon), nameof(Epsilon), Epsilon, "finite and non-negative");
        Require(WeightDecay is >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), WeightDecay, "finite and non-negative");
        Require(MaxGradNorm is >= 0 && double.IsFinite(MaxGradNorm), nameof(MaxGradNorm), MaxGradNorm, "finite and non-negative (0: no clipping)");
    }
}
