using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Performance;

/// <summary>Medians and ranges of a handful of round values: exact in float64 for these small numbers.</summary>
public class SpreadTests
{
    [Test]
    public void AnOddCountHasItsMiddleValueAsMedian() =>
        Assert.That(Spread.Of([5.0, 1.0, 3.0, 9.0, 2.0]), Is.EqualTo(new Spread(3, 1, 9)));

    [Test]
    public void AnEvenCountAveragesItsTwoMiddleValues() =>
        Assert.That(Spread.Of([4.0, 1.0, 2.0, 10.0]), Is.EqualTo(new Spread(3, 1, 10)));

    [Test]
    public void OneValueIsItsOwnSpread() => Assert.That(Spread.Of([7.5]), Is.EqualTo(new Spread(7.5, 7.5, 7.5)));

    /// <summary>Round by round: a slow round (the second) lowers both sides and leaves its ratio alone.</summary>
    [Test]
    public void RatiosAreTakenRoundByRound() =>
        Assert.That(Spread.OfRatios([10.0, 5.0, 12.0], [5.0, 2.5, 8.0]), Is.EqualTo(new Spread(2, 1.5, 2)));

    [Test]
    public void EmptyAndMismatchedInputsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => Spread.Of([]));
        Assert.Throws<ArgumentException>(() => Spread.OfRatios([1.0, 2.0], [1.0]));
    }
}
