namespace SimNpo.Unlearn.Training;

/// <summary>
/// The order of one epoch, derived from (seed, epoch) alone so a resumed run sees exactly the batches it would have:
/// a seeded shuffle of the forget (or training) examples and, like the public TOFU code, one retain example drawn at
/// random for each forget example.
/// </summary>
public sealed class EpochPlan
{
    public EpochPlan(int exampleCount, int retainCount, int batchSize, int gradAccum, int seed, int epoch)
    {
        // System.Random with a seed is stable across runs and platforms; HashCode is not (it is salted per process).
        var random = new Random(unchecked(seed * 1_000_003 + epoch));
        Order = Enumerable.Range(0, exampleCount).ToArray();
        random.Shuffle(Order);
        RetainPartner = retainCount == 0 ? [] : Order.Select(_ => random.Next(retainCount)).ToArray();
        BatchSize = batchSize;
        GradAccum = gradAccum;
    }

    /// <summary>Example indices in the order they are trained this epoch.</summary>
    public int[] Order { get; }

    /// <summary>RetainPartner[i] is the retain example paired with Order[i].</summary>
    public int[] RetainPartner { get; }

    public int BatchSize { get; }
    public int GradAccum { get; }

    public static int StepsPerEpoch(int exampleCount, int batchSize, int gradAccum)
    {
        var perStep = (long)batchSize * gradAccum;
        return (int)((exampleCount + perStep - 1) / perStep);
    }

    /// <summary>The micro-batches of one optimizer step: positions into <see cref="Order"/>, at most GradAccum of them.</summary>
    public IReadOnlyList<int[]> MicroBatches(int stepInEpoch)
    {
        var start = stepInEpoch * BatchSize * GradAccum;
        var end = Math.Min(Order.Length, start + BatchSize * GradAccum);
        var batches = new List<int[]>();
        for (var first = start; first < end; first += BatchSize)
            batches.Add(Enumerable.Range(first, Math.Min(BatchSize, end - first)).ToArray());
        return batches;
    }
}
