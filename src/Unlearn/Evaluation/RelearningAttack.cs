using System.Text.Json;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// The relearning attack of SPEC.md: plain NLL fine-tuning of an unlearned model on part of its forget set. Defaults
/// are SPEC.md's example (100 steps, lr 1e-5, batch 4), at a constant learning rate without warmup.
/// </summary>
public sealed record RelearnSettings
{
    public int Steps { get; init; } = 100;
    public double LearningRate { get; init; } = 1e-5;
    public int BatchSize { get; init; } = 4;
    /// <summary>Share of the forget set trained on: a seeded random subset of ⌈fraction·n⌉ records.</summary>
    public double Fraction { get; init; } = 1;
    /// <summary>Steps between measurements of the forget metrics; the start and the end are always measured.</summary>
    public int EvalEvery { get; init; } = 10;
    /// <summary>The forget metrics are measured on the first EvalItems records of the whole set (not only the subset).</summary>
    public int EvalItems { get; init; } = TofuSettings.DefaultMaxItems;
    public int MaxLength { get; init; } = TofuSettings.DefaultMaxLength;
    /// <summary>Cap on generated answer tokens for ROUGE (text records only); null: what MaxLength leaves after the prompt.</summary>
    public int? MaxNewTokens { get; init; }
    public double WeightDecay { get; init; } = 0.01;
    public int Seed { get; init; }
    public string Device { get; init; } = Devices.Default;
    /// <summary>fp32 or bf16 (<see cref="Kernels.Precision"/>): how the model is stored while it relearns.</summary>
    public string Precision { get; init; } = Kernels.Precision.Fp32.Name;

    public string? Problem() =>
        Steps < 1 ? "steps must be at least 1"
        : !(Fraction > 0 && Fraction <= 1) ? "fraction must be in (0, 1]"
        : EvalEvery < 1 ? "eval-every must be at least 1"
        : EvalItems < 1 ? "eval-items must be at least 1"
        : BatchSize < 1 ? "batch-size must be at least 1"
        : null;
}

/// <summary>The forget metrics at one step of relearning (step 0: the unlearned model as given).</summary>
public sealed record RecoveryPoint(int Step, IReadOnlyDictionary<string, double> Metrics);

/// <summary>What recovery.json holds.</summary>
public sealed record RecoveryCurve(string Model, string ModelSha256, string Data, int ForgetRecords, int TrainedRecords, RelearnSettings Settings,
    IReadOnlyList<RecoveryPoint> Points)
{
    public const string FileName = "recovery.json";
}

public static class RelearningAttack
{
    public static RecoveryCurve Run(string modelDirectory, string dataPath, string runDirectory, RelearnSettings settings, PromptTemplate template,
        ITrainingObserver observer)
    {
        if (settings.Problem() is { } problem) throw new ArgumentException(problem);
        var ops = Devices.Create(settings.Device);
        using var model = ModelFiles.Load(modelDirectory, ops, Kernels.Precision.Parse(settings.Precision), masterWeights: true);
        var records = JsonlRecords.Read(dataPath, model.Config.VocabSize);
        var encoder = records.Any(r => r is QaRecord) ? new ExampleEncoder(TokenizerLoader.Load(modelDirectory, model.Config), template) : null;
        var examples = records.Select(r => encoder?.Encode(r) ?? ((PretokenizedRecord)r).Example).ToArray();

        var subset = Subset(examples.Length, settings.Fraction, settings.Seed);
        // Cycled to fill exactly Steps batches, so one trainer epoch is the whole attack; the trainer shuffles the copies together.
        var training = Enumerable.Range(0, settings.Steps * settings.BatchSize).Select(i => examples[subset[i % subset.Length]]).ToArray();
        var evaluated = examples.Take(settings.EvalItems).ToArray();
        var answers = encoder is null || records.Any(r => r is not QaRecord) ? null : new AnswerPrompts(encoder.Tokenizer,
            records.Take(settings.EvalItems).Select(r => encoder.EncodePrompt(((QaRecord)r).Question)).ToArray(),
            records.Take(settings.EvalItems).Select(r => ((QaRecord)r).Answer).ToArray(),
            settings.MaxNewTokens ?? settings.MaxLength);

        var trainingSettings = new TrainingSettings
        {
            Method = "nll", RetainWeight = 0, LearningRate = settings.LearningRate, Epochs = 1, BatchSize = settings.BatchSize, GradAccum = 1,
            Warmup = "0", Schedule = "constant", WeightDecay = settings.WeightDecay, Seed = settings.Seed, MaxLength = settings.MaxLength,
            EvalEvery = settings.EvalEvery, Device = settings.Device, Precision = settings.Precision,
        };
        var runJson = JsonSerializer.Serialize(new { model = modelDirectory, data = dataPath, settings }, TofuReport.Json) + "\n";
        var job = new TrainingJob<float>(model, trainingSettings, new TrainingData(training, []), runDirectory, observer)
        {
            TokenizerSource = modelDirectory,
            Evaluate = m => ForgetMetrics.Measure(m, evaluated, answers, settings.BatchSize, settings.MaxLength),
            RunSettingsJson = runJson,
        };
        var summary = job.Run(resume: false);

        var points = new List<RecoveryPoint> { new(0, summary.InitialEval!) };
        foreach (var line in File.ReadLines(Path.Combine(runDirectory, Trainer<float>.LogFileName)))
        {
            var step = JsonDocument.Parse(line).RootElement;
            if (step.TryGetProperty("eval", out var eval))
                points.Add(new RecoveryPoint(step.GetProperty("step").GetInt32(), eval.Deserialize<Dictionary<string, double>>()!));
        }
        var curve = new RecoveryCurve(Path.GetFullPath(modelDirectory), ModelFingerprint.Sha256(modelDirectory), Path.GetFullPath(dataPath), examples.Length,
            subset.Length, settings, points);
        if (job.Communicator.IsRoot) // under MPI rank 0 alone writes the run folder
            AtomicFile.WriteAllText(Path.Combine(runDirectory, RecoveryCurve.FileName), JsonSerializer.Serialize(curve, TofuReport.Json) + "\n");
        return curve;
    }

    /// <summary>⌈fraction·n⌉ distinct indices (rounded first, so 0.07 of 100 is 7 although 0.07·100 is 7.000000000000001 in doubles), drawn by a seeded
    /// shuffle so that a run can be repeated.</summary>
    public static int[] Subset(int count, double fraction, int seed)
    {
        var indices = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(indices);
        return indices[..Math.Max(1, (int)Math.Ceiling(Math.Round(fraction * count, 9)))];
    }
}
