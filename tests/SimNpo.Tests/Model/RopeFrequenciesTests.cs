using SimNpo.Model;

namespace SimNpo.Tests.Model;

public class RopeFrequenciesTests
{
    private static readonly LlamaConfig Phi2Like = LlamaConfig.Shaped(160, 320, 1, 2, 2, 80, 50, 64);

    /// <summary>
    /// Over a rotary dimension d (Phi-2: head_dim 80 · partial_rotary_factor 0.4 = 32), d/2 frequencies 1/θ^(2i/d), as
    /// PhiRotaryEmbedding forms inv_freq over rotary_ndims; float64 on both sides, a pow and a division.
    /// </summary>
    [Test]
    public void PartialRotaryFrequenciesAreFormedOverTheRotaryDimension()
    {
        var frequencies = RopeFrequencies.Compute(Phi2Like, 32);
        Assert.That(frequencies, Is.EqualTo(Enumerable.Range(0, 16).Select(i => 1 / Math.Pow(10000, i / 16.0))).Within(1e-15));
    }

    [Test]
    public void TheWholeHeadIsTheDefault() =>
        Assert.That(RopeFrequencies.Compute(Phi2Like), Is.EqualTo(RopeFrequencies.Compute(Phi2Like, Phi2Like.HeadDim)).And.Length.EqualTo(40));
}
