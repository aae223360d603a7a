using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Performance;

public class StepFlopsTests
{
    /// <summary>
    /// The tiny model by hand: a layer's projections hold 32·32 (q) + 2·32·16 (k, v) + 32·32 (o) + 3·32·48 (gate, up,
    /// down) = 7680 weights; 2 layers over 36 positions: 6·2·7680·36 = 3,317,760. Output projection 6·96·32·24 = 442,368.
    /// Attention 6·3·12²·32·2 = 165,888. Exact in float64 (integers far below 2⁵³).
    /// </summary>
    [Test]
    public void TinyModelByHand() =>
        Assert.That(StepFlops.Of(SyntheticStepTests.Tiny, batchSize: 3, sequenceLength: 12, scoredPositions: 24), Is.EqualTo(3_317_760 + 442_368 + 165_888));

    /// <summary>
    /// Without attention and with every position scored the count is the familiar 6·N·tokens, N the non-embedding matmul
    /// weights plus the (tied) output projection: 15M has 15,191,712 parameters, of which 6·2·288 + 288 are norm weights.
    /// </summary>
    [Test]
    public void IsSixNTokensPlusAttention()
    {
        var config = BenchmarkModels.Get("15M").Config;
        const double matMulWeights = 15_191_712 - (6 * 2 * 288 + 288);
        var attention = 6.0 * 8 * 256 * 256 * 288 * 6;
        Assert.That(StepFlops.Of(config, 8, 256, 8 * 256), Is.EqualTo(6 * matMulWeights * 8 * 256 + attention).Within(1e-12).Percent);
    }
}
