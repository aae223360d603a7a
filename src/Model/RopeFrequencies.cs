namespace SimNpo.Model;

/// <summary>
/// The rotary inverse frequencies θ^(−2i/d) over the rotated dims d (<see cref="LlamaConfig.RotaryDim"/>: head_dim,
/// or Phi's partial share of it), with Llama 3's rope_scaling applied as Hugging Face does.
/// </summary>
public static class RopeFrequencies
{
    public static double[] Compute(LlamaConfig config)
    {
        var half = config.RotaryDim / 2;
        var frequencies = new double[half];
        for (var i = 0; i < half; i++)
            frequencies[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.RotaryDim);
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
