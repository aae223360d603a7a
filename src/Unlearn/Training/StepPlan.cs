namespace SimNpo.Unlearn.Training;

/// <summary>
/// Which examples each optimizer step trains on, for the two ways a run can cover its epochs (--batching):
/// <list type="bullet">
/// <item>epoch (the default): each epoch is ceil(N/B) steps, its last one short; epochs × that steps in all.</item>
/// <item>stream (the public TOFU code): Hugging Face Trainer with max_steps = floor(epochs·N/B) (OPTML-Group/Unlearn-Simple
/// TOFU/forget.py line 101, locuslab/tofu forget.py line 85) accumulates micro-batches across epoch ends, so every step
/// takes exactly B examples from the epochs' shuffles laid end to end, the last &lt; B examples of the run are dropped,
/// and a warmup of one epoch is floor(N/B) steps (Unlearn-Simple forget.py lines 99 and 114).</item>
/// </list>
/// Every epoch's order comes from <see cref="EpochPlan"/> (seed, epoch), so a resumed run sees the same batches.
/// </summary>
public sealed class StepPlan
{
    public const string Epoch = "epoch";
    public const string Stream = "stream";
    public static readonly string[] All = [Epoch, Stream];

    private readonly int _examples;
    private readonly int _retain;
    private readonly TrainingSettings _settings;
    private readonly int _perStep;
    private readonly Dictionary<int, EpochPlan> _plans = [];

    public StepPlan(int exampleCount, int retainCount, TrainingSettings settings)
    {
        (_examples, _retain, _settings) = (exampleCount, retainCount, settings);
        _perStep = settings.BatchSize * settings.GradAccum;
        TotalSteps = checked((int)CountSteps(exampleCount, settings));
        StepsPerEpoch = EpochPlan.StepsPerEpoch(exampleCount, settings.BatchSize, settings.GradAccum);
        WarmupSteps = Math.Min(settings.WarmupSteps(WarmupEpochSteps(exampleCount, settings)), TotalSteps);
    }

    private bool IsStream => _settings.Batching == Stream;

    public int TotalSteps { get; }

    /// <summary>ceil(N/B): the steps of one epoch (in stream batching, of the epoch a step starts in).</summary>
    public int StepsPerEpoch { get; }

    public int WarmupSteps { get; }

    /// <summary>Optimizer steps of a whole run, in 64 bits: epochs × steps per epoch overflows an int long before a run is absurd.</summary>
    public static long CountSteps(int exampleCount, TrainingSettings settings)
    {
        var perStep = (long)settings.BatchSize * settings.GradAccum;
        return settings.Batching == Stream
            ? (long)settings.Epochs * exampleCount / perStep
            : (long)EpochPlan.StepsPerEpoch(exampleCount, settings.BatchSize, settings.GradAccum) * settings.Epochs;
    }

    /// <summary>The steps a warmup epoch counts: ceil(N/B), or the public code's floor(N/B) in stream batching.</summary>
    private static int WarmupEpochSteps(int exampleCount, TrainingSettings settings) => settings.Batching == Stream
        ? (int)(exampleCount / ((long)settings.BatchSize * settings.GradAccum))
        : EpochPlan.StepsPerEpoch(exampleCount, settings.BatchSize, settings.GradAccum);

    /// <summary>The epoch (from 0) that step's first example belongs to.</summary>
    public int EpochOf(int step) => IsStream ? (int)((long)(step - 1) * _perStep / _examples) : (step - 1) / StepsPerEpoch;

    /// <summary>Whether the step trains the last example of an epoch (a checkpoint is saved there by default).</summary>
    public bool EndsEpoch(int step) => IsStream
        ? (long)step * _perStep / _examples > (long)(step - 1) * _perStep / _examples
        : (step - 1) % StepsPerEpoch == StepsPerEpoch - 1;

    /// <summary>The micro-batches of one step (from 1): forget example indices and their paired retain indices (none without a retain set).</summary>
    public IReadOnlyList<(int[] Forget, int[] Retain)> MicroBatches(int step)
    {
        if (!IsStream)
        {
            var plan = Plan(EpochOf(step));
            return plan.MicroBatches((step - 1) % StepsPerEpoch)
                .Select(positions => (positions.Select(p => plan.Order[p]).ToArray(), Partners(plan, positions))).ToArray();
        }
        var first = (long)(step - 1) * _perStep;
        return Enumerable.Range(0, _settings.GradAccum).Select(micro =>
        {
            var examples = Enumerable.Range(0, _settings.BatchSize).Select(k => first + (long)micro * _settings.BatchSize + k)
                .Select(g => (Plan: Plan((int)(g / _examples)), Position: (int)(g % _examples))).ToArray();
            return (examples.Select(e => e.Plan.Order[e.Position]).ToArray(),
                _retain == 0 ? [] : examples.Select(e => e.Plan.RetainPartner[e.Position]).ToArray());
        }).ToArray();
    }

    private int[] Partners(EpochPlan plan, IEnumerable<int> positions) => _retain == 0 ? [] : positions.Select(p => plan.RetainPartner[p]).ToArray();

    /// <summary>The shuffle of one epoch; a step needs at most two, so older ones are dropped.</summary>
    private EpochPlan Plan(int epoch)
    {
        if (_plans.TryGetValue(epoch, out var plan)) return plan;
        foreach (var old in _plans.Keys.Where(e => e < epoch - 1).ToArray()) _plans.Remove(old);
        return _plans[epoch] = new EpochPlan(_examples, _retain, _settings.BatchSize, _settings.GradAccum, _settings.Seed, epoch);
    }
}
