using SimNpo.Model.Generation;

namespace SimNpo.Tests.Generation;

public class TokenSamplerTests
{
    /// <summary>Logits whose softmax at temperature 1 is the given distribution.</summary>
    private static float[] LogitsOf(params double[] probabilities) => probabilities.Select(p => (float)Math.Log(p)).ToArray();

    [Test]
    public void GreedyPicksTheArgmaxLowestIndexOnTies()
    {
        var sampler = new TokenSampler(temperature: 0, topP: 1, seed: 1);
        float[] logits = [0.5f, 3f, -1f, 3f];
        Assert.That(Enumerable.Range(0, 5).Select(_ => sampler.Next(logits)), Is.All.EqualTo(1));
        Assert.That(TokenSampler.Argmax([-2f, -1f, -1.5f]), Is.EqualTo(1));
    }

    [Test]
    public void TinyTopPIsGreedy()
    {
        var sampler = new TokenSampler(temperature: 1.3, topP: 1e-9, seed: 5);
        var random = new Random(7);
        for (var row = 0; row < 50; row++)
        {
            var logits = Enumerable.Range(0, 20).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
            if (row % 10 == 0) logits[15] = logits[3] = logits.Max() + 1; // a tie: the lower index wins, as in greedy
            Assert.That(sampler.Next(logits), Is.EqualTo(TokenSampler.Argmax(logits)), $"row {row}");
        }
    }

    [Test]
    public void ASeedRepeatsItsDraws()
    {
        float[] logits = [0.1f, 1.2f, -0.3f, 0.8f, 0.0f, 0.5f];
        int[] Draws(int seed)
        {
            var sampler = new TokenSampler(temperature: 0.8, topP: 0.9, seed);
            return Enumerable.Range(0, 200).Select(_ => sampler.Next(logits)).ToArray();
        }
        Assert.That(Draws(42), Is.EqualTo(Draws(42)));
        Assert.That(Draws(43), Is.Not.EqualTo(Draws(42)));
    }

    [Test]
    public void DrawsFollowTheRenormalisedNucleusAndNeverLeaveIt()
    {
        // Sorted: 0.4 (1), 0.3 (3) reach 0.7 < 0.8, adding 0.15 (4) reaches 0.85 >= 0.8: the nucleus is {1, 3, 4} with mass 0.85.
        var logits = LogitsOf(0.05, 0.4, 0.1, 0.3, 0.15);
        var counts = Count(new TokenSampler(temperature: 1, topP: 0.8, seed: 11), logits);
        Assert.That(counts[0] + counts[2], Is.Zero);
        AssertFrequencies(counts, [0, 0.4 / 0.85, 0, 0.3 / 0.85, 0.15 / 0.85]);
    }

    [Test]
    public void TemperatureFlattensTheDistribution()
    {
        // At temperature 2 the weights are sqrt(p) = 0.8, 0.4, 0.2, 0.4 (sum 1.8): probabilities 4/9, 2/9, 1/9, 2/9.
        var logits = LogitsOf(0.64, 0.16, 0.04, 0.16);
        var counts = Count(new TokenSampler(temperature: 2, topP: 1, seed: 3), logits);
        AssertFrequencies(counts, [4.0 / 9, 2.0 / 9, 1.0 / 9, 2.0 / 9]);
    }

    [TestCase(-0.1, 1.0, "temperature")]
    [TestCase(double.NaN, 1.0, "temperature")]
    [TestCase(double.PositiveInfinity, 1.0, "temperature")]
    [TestCase(1.0, 0.0, "top-p must be in (0, 1]")]
    [TestCase(1.0, 1.5, "top-p must be in (0, 1]")]
    [TestCase(1.0, double.NaN, "top-p must be in (0, 1]")]
    public void RefusesSettingsOutOfRange(double temperature, double topP, string expected)
    {
        Assert.That(() => new TokenSampler(temperature, topP, seed: 0),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contain(expected));
    }

    [Test]
    public void RefusesAnEmptyRow()
    {
        Assert.That(() => new TokenSampler(1, 1, 0).Next([]), Throws.ArgumentException);
    }

    private const int Draws = 20000;

    private static int[] Count(TokenSampler sampler, float[] logits)
    {
        var counts = new int[logits.Length];
        for (var i = 0; i < Draws; i++) counts[sampler.Next(logits)]++;
        return counts;
    }

    /// <summary>
    /// Each count is Binomial(Draws, q): within 5 standard deviations sqrt(Draws q (1 - q)) but for a chance of about 6e-7
    /// (at q = 4/9 that is 5 * 70 = 351 draws, 3.5% of q). Rounding the logits to float moves q by ~1e-7, far below that.
    /// </summary>
    private static void AssertFrequencies(int[] counts, double[] expected)
    {
        for (var token = 0; token < counts.Length; token++)
        {
            var mean = Draws * expected[token];
            var bound = 5 * Math.Sqrt(Draws * expected[token] * (1 - expected[token]));
            Assert.That(counts[token], Is.EqualTo(mean).Within(bound), $"token {token}");
        }
    }
}
