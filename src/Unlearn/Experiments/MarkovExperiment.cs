using System.Diagnostics;
using System.Globalization;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Unlearn.Progress;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Experiments;

/// <summary>The distances of a model on the three test sets after an unlearning iteration.</summary>
public sealed record MarkovPoint(int Iteration, MarkovKl Retain, MarkovKl Forget1, MarkovKl Forget2);

/// <summary>
/// One method on one variant: its curve over the iterations (on the first <see cref="MarkovExperiment.CurveSequences"/>
/// sequences of each test set) and the distances on the whole test sets before and after unlearning.
/// </summary>
public sealed record MarkovCurve(string Variant, string Method, IReadOnlyList<MarkovPoint> Points, MarkovPoint Before, MarkovPoint After);

/// <summary>A pretraining variant: forget chain 2's length and whether pretraining sees it (run_synthetic.sh, train.py --only_forget1).</summary>
public sealed record MarkovVariant(string Name, int Forget2Length, bool PretrainOnForget2);

/// <summary>An unlearning method of unlearn_utils.py: NPO or SimNPO, without (NPO, SimNPO) or with (NPO_RT, SimNPO_RT) the retain NLL.</summary>
public sealed record MarkovMethod(string Name, string Method, double RetainWeight);

/// <summary>
/// The paper's mixture-of-Markov-chains analysis as the authors ran it (Unlearn-Simple synthetic/, docs/fidelity.md) on this
/// engine's Llama: a model retrained on the retain chain alone, and per variant a model pretrained on the retain chain and
/// the forget chains, unlearned on both forget chains for 50 iterations by each method; after every iteration the
/// distances KL(retrained ‖ model) (and KL(true rows ‖ model)) on the three test sets. scale shrinks the data (not the
/// model or the iterations) for quick runs.
/// </summary>
public sealed class MarkovExperiment(string outputDirectory, string device, double scale, int seed, Action<string> say)
{
    public static readonly MarkovVariant[] Variants = [new("long", 20, true), new("short", 5, true), new("forget1-only", 20, false)];

    public static readonly MarkovMethod[] Methods = [new("npo", "npo", 0), new("simnpo", "simnpo", 0), new("npo-rt", "npo", 1), new("simnpo-rt", "simnpo", 1)];

    private const int Length = 20;
    private const int Iterations = 50;
    private const int UnlearningBatch = 4;
    private const double LearningRate = 5e-4;

    /// <summary>Test sequences per set scored after every iteration: the curve's precision, not the data's size (the table uses every one).</summary>
    public const int CurveSequences = 256;

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public IReadOnlyList<MarkovCurve> Run()
    {
        var ops = Devices.Create(device);
        var curves = new List<MarkovCurve>();
        // Models are reused when found: their folder names the data they were trained on.
        var models = Path.Combine(outputDirectory, "models", string.Create(CultureInfo.InvariantCulture, $"seed{seed}-scale{scale}"));
        var retrainedDirectory = Path.Combine(models, "retrained");
        using var progress = ProgressReporting.Start("markov", Variants.Length * Methods.Length, "runs");
        foreach (var variant in Variants)
        {
            var (retain, forget1, forget2) = Data(variant);
            // The retain chain is drawn first from the seed, so every variant shares it and the one retrained model.
            PretrainOnce(ops, retrainedDirectory, retain.Train, "retrained model (retain chain only)");
            IReadOnlyList<TokenizedExample> pretraining = variant.PretrainOnForget2
                ? [.. retain.Train, .. forget1.Train, .. forget2.Train]
                : [.. retain.Train, .. forget1.Train];
            var pretrained = Path.Combine(models, variant.Name);
            PretrainOnce(ops, pretrained, pretraining, $"{variant.Name}: pretrained model");

            (MarkovDistance, MarkovDistance, MarkovDistance) Distances(LlamaModel<float> retrained, int take) =>
                (new(retain.Test.Take(take).ToArray(), 0, retrained), new(forget1.Test.Take(take).ToArray(), 1, retrained),
                    new(forget2.Test.Take(take).ToArray(), 2, retrained));
            using var retrainedModel = ModelFiles.Load(retrainedDirectory, ops);
            var curveSets = Distances(retrainedModel, CurveSequences);
            var fullSets = Distances(retrainedModel, int.MaxValue);

            // The authors' loader shuffles the forget chains' training sequences; unlearning stops after 50 batches of 4 (or at the
            // end of that one epoch, in a run too small for 50).
            TokenizedExample[] forget = [.. forget1.Train, .. forget2.Train];
            new Random(seed + 1).Shuffle(forget);
            forget = forget[..Math.Min(forget.Length, Iterations * UnlearningBatch)];
            MarkovPoint before;
            using (var model = ModelFiles.Load(pretrained, ops)) before = Measure(model, 0, fullSets);
            foreach (var method in Methods)
            {
                curves.Add(Unlearn(ops, variant, method, pretrained, new TrainingData(forget, retain.Train), curveSets, fullSets, before));
                progress.Advance();
            }
        }
        MarkovReport.Write(outputDirectory, curves, seed, scale, device, _clock.Elapsed.TotalSeconds);
        return curves;
    }

    private ((TokenizedExample[] Train, TokenizedExample[] Test) Retain, (TokenizedExample[] Train, TokenizedExample[] Test) Forget1,
        (TokenizedExample[] Train, TokenizedExample[] Test) Forget2) Data(MarkovVariant variant)
    {
        var random = new Random(seed);
        int Count(int full) => Math.Max(10, (int)(full * scale));
        return (Split(MarkovMixture.Examples(0, Count(10_000), Length, random)), Split(MarkovMixture.Examples(1, Count(5_000), Length, random)),
            Split(MarkovMixture.Examples(2, Count(5_000), variant.Forget2Length, random)));
    }

    /// <summary>80/20 train/test (test_size 0.2): the sequences are independent draws, so the split needs no shuffle.</summary>
    private static (TokenizedExample[] Train, TokenizedExample[] Test) Split(TokenizedExample[] examples)
    {
        var train = examples.Length * 4 / 5;
        return (examples[..train], examples[train..]);
    }

    /// <summary>train.py: AdamW lr 5e-4 (no weight decay, no clipping, constant rate), batch 128, 5 epochs, from random weights.</summary>
    private void PretrainOnce(Kernels.IOps<float> ops, string directory, IReadOnlyList<TokenizedExample> examples, string what)
    {
        if (File.Exists(Path.Combine(directory, "model.safetensors"))) return;
        say($"{what}: training on {examples.Count} sequences (batch 128, 5 epochs) [{_clock.Elapsed.TotalSeconds:F0} s]");
        using var model = new LlamaModel<float>(MarkovMixture.ModelConfig(), ops);
        ModelInitializer.Randomize(model, seed, std: 0.02);
        var settings = Settings("nll", 0) with { Epochs = 5, BatchSize = 128, EvalEvery = 0 };
        ModelTraining.TrainAndSave(model, settings, new TrainingData(examples, []), directory);
    }

    /// <summary>unlearn.py with run_synthetic.sh's values: AdamW lr 5e-4, batch 4, β 1, 50 iterations, retain NLL weight 1 for the _RT losses.</summary>
    private TrainingSettings Settings(string method, double retainWeight) => new()
    {
        Method = method, Beta = 1, Gamma = 0, RetainWeight = retainWeight, RetainLoss = "nll", LearningRate = LearningRate, Epochs = 1,
        BatchSize = UnlearningBatch, GradAccum = 1, Warmup = "0", Schedule = "constant", WeightDecay = 0, MaxGradNorm = 0, Seed = seed, Device = device,
        MaxLength = Length, EvalEvery = 1,
    };

    private MarkovCurve Unlearn(Kernels.IOps<float> ops, MarkovVariant variant, MarkovMethod method, string pretrained, TrainingData data,
        (MarkovDistance, MarkovDistance, MarkovDistance) curveSets, (MarkovDistance, MarkovDistance, MarkovDistance) fullSets, MarkovPoint before)
    {
        say($"{variant.Name}: unlearning with {method.Name} [{_clock.Elapsed.TotalSeconds:F0} s]");
        using var model = ModelFiles.Load(pretrained, ops);
        var points = new List<MarkovPoint>();
        var observer = new PointObserver(points);
        var run = Path.Combine(outputDirectory, variant.Name, method.Name);
        if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
        new TrainingJob<float>(model, Settings(method.Method, method.RetainWeight), data, run, observer)
        {
            // The job measures before the first step and after every step; the point's iteration is its place in that order.
            Evaluate = m =>
            {
                var point = Measure(m, points.Count, curveSets);
                points.Add(point);
                return new Dictionary<string, double> { ["retain"] = point.Retain.Retrained, ["forget1"] = point.Forget1.Retrained,
                    ["forget2"] = point.Forget2.Retrained };
            },
        }.Run(resume: false);
        return new MarkovCurve(variant.Name, method.Name, points, before, Measure(model, points.Count - 1, fullSets));
    }

    private static MarkovPoint Measure(LlamaModel<float> model, int iteration, (MarkovDistance Retain, MarkovDistance Forget1, MarkovDistance Forget2) sets) =>
        new(iteration, sets.Retain.Measure(model), sets.Forget1.Measure(model), sets.Forget2.Measure(model));

    private sealed class PointObserver(List<MarkovPoint> points) : ITrainingObserver
    {
        public void Message(string text) { }

        public void StepDone(StepRecord record, int totalSteps)
        {
            if (points.Count != record.Step + 1) throw new InvalidOperationException($"step {record.Step} was not measured");
        }
    }
}
