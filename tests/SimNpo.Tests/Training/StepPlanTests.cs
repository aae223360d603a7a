using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Training;

public class StepPlanTests
{
    /// <summary>
    /// Stream batching as the public TOFU code runs: max_steps = floor(epochs·N/32) and a one-epoch warmup of floor(N/32)
    /// steps (Unlearn-Simple TOFU/forget.py lines 99 and 101), for forget01, forget05 and forget10 (40, 200 and 400
    /// examples) at 10 epochs. Epoch batching: ceil(N/32) steps an epoch.
    /// </summary>
    [TestCase(40, 12, 1, 20)]
    [TestCase(200, 62, 6, 70)]
    [TestCase(400, 125, 12, 130)]
    public void StreamBatchingCountsStepsAsTheTofuCode(int examples, int steps, int warmup, int epochSteps)
    {
        var settings = new TrainingSettings { BatchSize = 1, GradAccum = 32, Epochs = 10, Warmup = "1e" };
        var stream = new StepPlan(examples, 0, settings with { Batching = StepPlan.Stream });
        Assert.That((stream.TotalSteps, stream.WarmupSteps), Is.EqualTo((steps, warmup)));
        Assert.That(new StepPlan(examples, 0, settings).TotalSteps, Is.EqualTo(epochSteps));
    }

    /// <summary>
    /// Every stream step takes exactly B examples from the epochs' shuffles laid end to end (a step crosses an epoch's
    /// end rather than stopping short), each with the retain partner its epoch drew; the examples left over at the end
    /// (2000 − 62·32 = 16 for forget05) are not trained.
    /// </summary>
    [Test]
    public void StreamStepsTakeBExamplesAcrossEpochEnds()
    {
        var settings = new TrainingSettings { BatchSize = 4, GradAccum = 8, Epochs = 10, Seed = 3, Batching = StepPlan.Stream };
        const int examples = 200, retain = 50;
        var plan = new StepPlan(examples, retain, settings);
        var epochs = Enumerable.Range(0, 10).Select(e => new EpochPlan(examples, retain, 4, 8, 3, e)).ToArray();
        var expectedForget = epochs.SelectMany(e => e.Order).ToArray();
        var expectedRetain = epochs.SelectMany(e => e.RetainPartner).ToArray();

        var forget = new List<int>();
        var partners = new List<int>();
        for (var step = 1; step <= plan.TotalSteps; step++)
        {
            var micro = plan.MicroBatches(step);
            Assert.That(micro.Select(m => m.Forget.Length), Is.EqualTo(Enumerable.Repeat(4, 8)), $"step {step}");
            foreach (var (f, r) in micro)
            {
                forget.AddRange(f);
                partners.AddRange(r);
            }
        }
        Assert.That(forget, Is.EqualTo(expectedForget[..(62 * 32)]));
        Assert.That(partners, Is.EqualTo(expectedRetain[..(62 * 32)]));
        // Step 7 holds examples 192..223: the end of epoch 0 and the start of epoch 1.
        Assert.That((plan.EpochOf(7), plan.EndsEpoch(7), plan.EpochOf(8), plan.EndsEpoch(6)), Is.EqualTo((0, true, 1, false)));
    }

    [Test]
    public void FewerExamplesThanOneStepAreRefused()
    {
        var settings = new TrainingSettings { BatchSize = 4, GradAccum = 8, Epochs = 1, Batching = StepPlan.Stream };
        var data = new TrainingData([.. Enumerable.Repeat(new SimNpo.Model.TokenizedExample([1], [2]), 10)], []);
        Assert.That(() => data.Validate(settings with { Method = "ga" }),
            Throws.ArgumentException.With.Message.Contains("stream batching: epochs 1 × 10 examples are fewer than one step of 32"));
    }
}
