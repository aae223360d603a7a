using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Training;

/// <summary>
/// Expected values are the Hugging Face formulas written out by hand for peak 2, S = 10 steps, W = 3 warmup steps.
/// Values are of order 1 and each side takes a few double operations in its own order: 1e-15 is a few ulps.
/// </summary>
public class LearningRateScheduleTests
{
    private const double Peak = 2.0;
    private const double Ulps = 1e-15;

    private static LearningRateSchedule Schedule(LearningRateScheduleKind kind, int warmup = 3) => new(kind, Peak, totalSteps: 10, warmupSteps: warmup);

    [TestCase(LearningRateScheduleKind.Constant)]
    [TestCase(LearningRateScheduleKind.Linear)]
    [TestCase(LearningRateScheduleKind.Cosine)]
    public void WarmupRisesLinearlyFromZeroToThePeak(LearningRateScheduleKind kind)
    {
        var schedule = Schedule(kind);
        Assert.That(schedule.At(0), Is.EqualTo(0.0));
        Assert.That(schedule.At(1), Is.EqualTo(2.0 / 3).Within(Ulps));
        Assert.That(schedule.At(2), Is.EqualTo(4.0 / 3).Within(Ulps));
        Assert.That(schedule.At(3), Is.EqualTo(Peak).Within(Ulps));
    }

    [Test]
    public void LinearDecaysToZeroAtTheEnd()
    {
        var schedule = Schedule(LearningRateScheduleKind.Linear);
        // peak·(S − s)/(S − W) = 2·(10 − s)/7.
        Assert.That(schedule.At(6), Is.EqualTo(8.0 / 7).Within(Ulps));
        Assert.That(schedule.At(9), Is.EqualTo(2.0 / 7).Within(Ulps));
    }

    [Test]
    public void CosineFollowsHalfACosine()
    {
        var schedule = Schedule(LearningRateScheduleKind.Cosine);
        // peak·0.5·(1 + cos(π·(s − W)/(S − W))) = 1 + cos(π·(s − 3)/7).
        Assert.That(schedule.At(6), Is.EqualTo(1 + Math.Cos(3 * Math.PI / 7)).Within(Ulps));
        Assert.That(schedule.At(9), Is.EqualTo(1 + Math.Cos(6 * Math.PI / 7)).Within(Ulps));
        Assert.That(schedule.At(9), Is.GreaterThan(0.0).And.LessThan(0.1));
    }

    [Test]
    public void ConstantStaysAtThePeak()
    {
        Assert.That(Schedule(LearningRateScheduleKind.Constant).At(9), Is.EqualTo(Peak));
        Assert.That(Schedule(LearningRateScheduleKind.Constant, warmup: 0).At(0), Is.EqualTo(Peak));
    }

    [Test]
    public void WithoutWarmupTheDecayStartsAtStepZero()
    {
        Assert.That(Schedule(LearningRateScheduleKind.Linear, warmup: 0).At(0), Is.EqualTo(Peak));
        Assert.That(Schedule(LearningRateScheduleKind.Linear, warmup: 0).At(5), Is.EqualTo(1.0).Within(Ulps));
        Assert.That(Schedule(LearningRateScheduleKind.Cosine, warmup: 0).At(5), Is.EqualTo(1.0).Within(Ulps));
    }

    [Test]
    public void StepsOutsideTheRunAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Schedule(LearningRateScheduleKind.Linear).At(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => Schedule(LearningRateScheduleKind.Linear).At(-1));
    }

    [Test]
    public void KindsParseByName()
    {
        Assert.That(LearningRateSchedule.ParseKind("constant"), Is.EqualTo(LearningRateScheduleKind.Constant));
        Assert.That(LearningRateSchedule.ParseKind("linear"), Is.EqualTo(LearningRateScheduleKind.Linear));
        Assert.That(LearningRateSchedule.ParseKind("cosine"), Is.EqualTo(LearningRateScheduleKind.Cosine));
        var error = Assert.Throws<ArgumentException>(() => LearningRateSchedule.ParseKind("polynomial"))!;
        Assert.That(error.Message, Does.Contain("'polynomial'").And.Contain("constant, linear or cosine"));
    }

    [TestCase(1.0, 12, 12)]
    [TestCase(0.5, 5, 2)]
    [TestCase(2.0, 7, 14)]
    [TestCase(0.1, 5, 1)]
    [TestCase(1.0, 0, 1)]
    [TestCase(0.0, 12, 0)]
    public void WarmupEpochsRoundDownToAtLeastOneStep(double epochs, int stepsPerEpoch, int expected) =>
        Assert.That(LearningRateSchedule.WarmupStepsFromEpochs(epochs, stepsPerEpoch), Is.EqualTo(expected));
}
