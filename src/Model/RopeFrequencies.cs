namespace SimNpo.Model;

/// <summary>
/// The rotary inverse frequencies θ^(−2i/d) over the rotated part of a head, d = rotaryDim (the head's dimension for Llama,
/// Phi's rotary_ndims = head_dim · partial_rotary_factor, over which Hugging Face's PhiRotaryEmbedding forms inv_freq), with
/// Llama 3's rope_scaling applied as Hugging Face does.
/// </summary>
public static class RopeFrequencies
{
    /// <summary>The model's own: d = <see cref="LlamaConfig.RotaryDim"/> (head_dim, or Phi's partial share of it).</summary>
    public static double[] Compute(LlamaConfig config) => Compute(config, config.RotaryDim);

    /// <summary>rotaryDim/2 frequencies, 1/θ^(2i/rotaryDim); rotaryDim even, positive and at most head_dim.</summary>
    public static double[] Compute(LlamaConfig config, int rotaryDim)
    {
        Kernels.Rope.CheckRotaryDim(config.HeadDim, rotaryDim);
        var half = rotaryDim / 2;
        var frequencies = new double[half];
        for (var i = 0; i < half; i++)
            frequencies[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / rotaryDim);
        if (config.RopeScaling is { } scaling)
            for (var i = 0; i < half; i++)
                frequencies[i] = Llama3Scaled(frequencies[i], scaling);
        return frequencies;
    }

    /// <summary>
    /// Wavelengths longer than the original context divided by the low-frequency factor are slowed by Factor,
    /// those shorter than it divided by the high-frequency factor are kept, and the band between is interpolated.
    /// </summary>
    private static double Llama3Scaled(double frequency, Llama3RopeScaling s)
    {
        var wavelength = 2 * Math.PI / frequency;
        var lowFrequencyWavelength = s.OriginalMaxPositionEmbeddings / s.LowFrequencyFactor;
        var highFrequencyWavelength = s.OriginalMaxPositionEmbeddings / s.HighFrequencyFactor;
        if (wavelength > lowFrequencyWavelength) return frequency / s.Factor;
        if (wavelength < highFrequencyWavelength) return frequency;
        var smooth = (s.OriginalMaxPositionEmbeddings / wavelength - s.LowFrequencyFactor) / (s.HighFrequencyFactor - s.LowFrequencyFactor);
        return (1 - smooth) * frequency / s.Factor + smooth * frequency;
    }
}
