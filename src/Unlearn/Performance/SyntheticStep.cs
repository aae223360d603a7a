using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Performance;

/// <summary>
/// One SimNPO unlearning step on made-up data, as <see cref="Trainer{T}"/> runs it (zero the gradients, forward,
/// SimNPO loss, backward with the sequence weights, clip, AdamW) but on the forget term alone (retain weight 0: the
/// default retain term adds a second forward and backward of the same shape), for measuring: a fixed batch of
/// full-length random sequences whose first <see cref="PromptLength"/> tokens are a prompt that is not scored. Owns the model.
/// </summary>
public sealed class SyntheticStep : IDisposable
{
    public const int PromptLength = 4;

    private readonly LlamaModel<float> _model;
    private readonly AdamWOptimizer<float> _optimizer;
    private readonly MicroBatchLoss<float> _loss;
    private readonly TrainingSettings _settings;
    private readonly int[] _forgetIndices;

    /// <summary>A model of the config with seeded random weights.</summary>
    public static SyntheticStep Randomized(IOps<float> ops, LlamaConfig config, int batchSize, int sequenceLength, int seed, double learningRate = 1e-5,
        Precision? precision = null, Recompute recompute = Recompute.None)
    {
        Check(config, batchSize, sequenceLength, recompute);
        var model = new LlamaModel<float>(config, ops, precision) { Recompute = recompute };
        try
        {
            ModelInitializer.RandomizeUniform(model, seed);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new SyntheticStep(model, batchSize, sequenceLength, seed, learningRate);
    }

    /// <summary>Steps on the given model (random or loaded), which this now owns, also when it refuses the batch.</summary>
    public SyntheticStep(LlamaModel<float> model, int batchSize, int sequenceLength, int seed, double learningRate = 1e-5)
    {
        _model = model;
        try
        {
            Check(model.Config, batchSize, sequenceLength, model.Recompute);
            BatchSize = batchSize;
            SequenceLength = sequenceLength;
            // SimNPO on the forget term alone: the retain term would be a second forward and backward of the same shape.
            _settings = new TrainingSettings { Method = "simnpo", RetainWeight = 0, LearningRate = learningRate, MaxLength = sequenceLength };
            var data = new TrainingData(RandomExamples(model.Config.VocabSize, batchSize, sequenceLength, seed), []);
            _forgetIndices = Enumerable.Range(0, batchSize).ToArray();
            _loss = new MicroBatchLoss<float>(_settings, data, reference: null, klReference: null);
            _optimizer = new AdamWOptimizer<float>(model, _settings.AdamW);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public LlamaModel<float> Model => _model;
    public int BatchSize { get; }
    public int SequenceLength { get; }

    /// <summary>Positions the step runs through the model: every token of every sequence.</summary>
    public int Tokens => BatchSize * SequenceLength;

    /// <summary>Positions whose next token is scored: all but the prompt's.</summary>
    public int ScoredTokens => ScoredTokensOf(BatchSize, SequenceLength);

    /// <summary>The step's model FLOPs (<see cref="StepFlops"/>).</summary>
    public double Flops => FlopsOf(_model.Config, BatchSize, SequenceLength);

    /// <summary>The model FLOPs of a step of this shape, known before any model is built (the benchmark's worker builds it).</summary>
    public static double FlopsOf(LlamaConfig config, int batchSize, int sequenceLength) =>
        StepFlops.Of(config, batchSize, sequenceLength, ScoredTokensOf(batchSize, sequenceLength));

    private static int ScoredTokensOf(int batchSize, int sequenceLength) => batchSize * (sequenceLength - PromptLength);

    /// <summary>One optimizer step; returns its loss (before the update, as the trainer logs it).</summary>
    public double Run() => Run(afterBackward: null);

    /// <summary>One optimizer step with afterBackward run between the backward and AdamW: a data-parallel step's gradient all-reduce.</summary>
    public double Run(Action<LlamaModel<float>>? afterBackward)
    {
        _model.ZeroGradients();
        var result = _loss.Run(_model, _forgetIndices, [], scale: 1);
        afterBackward?.Invoke(_model);
        _optimizer.Step(_settings.LearningRate);
        return _settings.ForgetWeight * result.ForgetLoss;
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
    }

    /// <summary>Refuses a batch the model cannot run, before anything is allocated.</summary>
    private static void Check(LlamaConfig config, int batchSize, int sequenceLength, Recompute recompute)
    {
        if (batchSize < 1) throw new ArgumentException($"batch size must be at least 1, got {batchSize}");
        if (sequenceLength < PromptLength + 2)
            throw new ArgumentException($"sequence length must be at least {PromptLength + 2} (a prompt and two scored tokens), got {sequenceLength}");
        if (sequenceLength > config.MaxPositionEmbeddings)
            throw new ArgumentException($"sequence length {sequenceLength} passes the model's {config.MaxPositionEmbeddings} positions");
        long activations;
        try
        {
            var size = Activations<float>.Count(config,
                new ActivationShape(batchSize, sequenceLength, ScoredTokensOf(batchSize, sequenceLength), FullLogits: false, recompute));
            activations = Math.Max(size.BulkElements, size.StatisticElements);
        }
        catch (OverflowException)
        {
            activations = long.MaxValue; // one of its tensors alone passes int
        }
        if (activations > Array.MaxLength)
            throw new ArgumentException($"batch {batchSize} x {sequenceLength} needs more activations than one buffer holds ({Array.MaxLength:N0} elements): "
                + "use a smaller batch or recompute layers");
    }

    private static TokenizedExample[] RandomExamples(int vocab, int batchSize, int sequenceLength, int seed)
    {
        var random = new Random(seed);
        int[] Tokens(int count) => Enumerable.Range(0, count).Select(_ => random.Next(vocab)).ToArray();
        return Enumerable.Range(0, batchSize).Select(_ => new TokenizedExample(Tokens(PromptLength), Tokens(sequenceLength - PromptLength))).ToArray();
    }
}
