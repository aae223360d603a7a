using System.Text;
using System.Text.Json;
using SimNpo.Kernels;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Reports;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Experiments;

/// <summary>Mean per-token KL from the true rows to the model on each test set, after an unlearning iteration.</summary>
public sealed record MarkovPoint(int Iteration, double Retain, double Forget1, double Forget2);

/// <summary>One method on one variant: its KL curve over the unlearning iterations.</summary>
public sealed record MarkovCurve(string Variant, string Method, IReadOnlyList<MarkovPoint> Points);

/// <summary>
/// The paper's mixture-of-Markov-chains analysis (SPEC.md) on this engine: pretrain a small Llama on the retain chain
/// and both forget chains, then unlearn both forget chains with NPO and with SimNPO (each with the retain term) and
/// follow the KL to the true transition rows on the three test sets after every iteration. Two variants: forget chain 2
/// as long as the others (20) or short (5). scale shrinks the data (not the model or the iterations) for quick runs.
/// </summary>
public sealed class MarkovExperiment(string outputDirectory, string device, double scale, int seed, Action<string> say)
{
    public static readonly string[] Methods = ["npo", "simnpo"];
    public static readonly (string Name, int Forget2Length)[] Variants = [("long", 20), ("short", 5)];
    private const int Length = 20;
    private const int Iterations = 50;

    /// <summary>Test sequences scored per set after each iteration: the curve's precision, not the data's size.</summary>
    private const int EvaluatedSequences = 256;

    public IReadOnlyList<MarkovCurve> Run()
    {
        var ops = Devices.Create(device);
        var curves = new List<MarkovCurve>();
        foreach (var (variant, forget2Length) in Variants)
        {
            var random = new Random(seed);
            int Count(int full) => Math.Max(10, (int)(full * scale));
            var retain = Split(MarkovMixture.Examples(0, Count(10_000), Length, random));
            var forget1 = Split(MarkovMixture.Examples(1, Count(5_000), Length, random));
            var forget2 = Split(MarkovMixture.Examples(2, Count(5_000), forget2Length, random));
            var pretrained = Path.Combine(outputDirectory, variant, "pretrained");
            if (File.Exists(Path.Combine(pretrained, "model.safetensors")))
                say($"{variant}: pretrained model found in {pretrained}");
            else
                Pretrain(ops, pretrained, [.. retain.Train, .. forget1.Train, .. forget2.Train], variant);

            var testSets = (retain.Test.Take(EvaluatedSequences).ToArray(), forget1.Test.Take(EvaluatedSequences).ToArray(),
                forget2.Test.Take(EvaluatedSequences).ToArray());
            IReadOnlyList<TokenizedExample> forget = [.. forget1.Train, .. forget2.Train];
            foreach (var method in Methods)
            {
                say($"{variant}: unlearning with {method}");
                using var model = ModelFiles.Load(pretrained, ops);
                var points = new List<MarkovPoint> { Measure(model, 0, testSets) };
                var observer = new IterationObserver();
                // 50 iterations of batch 4: one epoch over 200 forget sequences drawn (seeded) from both chains.
                var drawn = new Random(seed + 1).GetItems(forget.ToArray(), Iterations * 4);
                var run = Path.Combine(outputDirectory, variant, method);
                if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
                new TrainingJob<float>(model, Unlearning(method), new TrainingData(drawn, retain.Train), run, observer) { Evaluate = m => Kl(m, testSets) }
                    .Run(resume: false);
                points.AddRange(observer.Evaluations.Select((values, i) => new MarkovPoint(i + 1, values["retain"], values["forget1"], values["forget2"])));
                curves.Add(new MarkovCurve(variant, method, points));
            }
        }
        Report(curves);
        return curves;
    }

    private static (TokenizedExample[] Train, TokenizedExample[] Test) Split(TokenizedExample[] examples)
    {
        var train = examples.Length * 4 / 5;
        return (examples[..train], examples[train..]);
    }

    private void Pretrain(IOps<float> ops, string directory, IReadOnlyList<TokenizedExample> all, string variant)
    {
        say($"{variant}: pretraining on {all.Count} sequences (4 layers, width 128, AdamW lr 5e-4, batch 128, 5 epochs)");
        using var model = new LlamaModel<float>(MarkovMixture.ModelConfig(), ops);
        ModelInitializer.Randomize(model, seed, std: 0.02);
        var settings = new TrainingSettings
        {
            Method = "nll", LearningRate = 5e-4, Epochs = 5, BatchSize = 128, GradAccum = 1, Warmup = "0", Schedule = "constant",
            WeightDecay = 0, RetainWeight = 0, Seed = seed, Device = device, MaxLength = 32,
        };
        ModelTraining.TrainAndSave(model, settings, new TrainingData(all, []), directory);
    }

    /// <summary>SPEC.md: AdamW lr 5e-4, batch 4, 50 iterations, β = 1, with the retain term (weight 1).</summary>
    private TrainingSettings Unlearning(string method) => new()
    {
        Method = method, Beta = 1, LearningRate = 5e-4, Epochs = 1, BatchSize = 4, GradAccum = 1, Warmup = "0", Schedule = "constant",
        WeightDecay = 0, Seed = seed, Device = device, MaxLength = 32, EvalEvery = 1,
    };

    private static MarkovPoint Measure(LlamaModel<float> model, int iteration, (TokenizedExample[], TokenizedExample[], TokenizedExample[]) sets)
    {
        var values = Kl(model, sets);
        return new MarkovPoint(iteration, values["retain"], values["forget1"], values["forget2"]);
    }

    private static Dictionary<string, double> Kl(LlamaModel<float> model,
        (TokenizedExample[] Retain, TokenizedExample[] Forget1, TokenizedExample[] Forget2) sets) => new()
    {
        ["retain"] = MarkovMixture.MeanKl(model, sets.Retain, 0),
        ["forget1"] = MarkovMixture.MeanKl(model, sets.Forget1, 1),
        ["forget2"] = MarkovMixture.MeanKl(model, sets.Forget2, 2),
    };

    private sealed class IterationObserver : ITrainingObserver
    {
        public List<IReadOnlyDictionary<string, double>> Evaluations { get; } = [];

        public void Message(string text) { }

        public void StepDone(StepRecord record, int totalSteps) => Evaluations.Add(record.Eval!);
    }

    private void Report(IReadOnlyList<MarkovCurve> curves)
    {
        var options = new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, "markov.json"), JsonSerializer.Serialize(new { seed, scale, device, curves }, options) + "\n");
        foreach (var (variant, _) in Variants)
        {
            var series = curves.Where(c => c.Variant == variant).SelectMany(c => new[]
            {
                new Series($"{c.Method} forget chain 1", c.Points.Select(p => p.Retain).ToArray(), c.Points.Select(p => p.Forget1).ToArray()),
                new Series($"{c.Method} forget chain 2", c.Points.Select(p => p.Retain).ToArray(), c.Points.Select(p => p.Forget2).ToArray()),
            });
            LinePlot.Save(Path.Combine(outputDirectory, $"markov-{variant}.png"), $"Forget KL against retain KL ({variant} forget chain 2)",
                "retain KL", "forget KL", series, markers: true);
        }
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, "markov.md"), Summary(curves));
    }

    /// <summary>
    /// Whether the paper's claim holds in this run, read off the first and last iterations so that methods which forget
    /// by different amounts compare fairly: unevenness = |f1 − f2| / mean(f1, f2) (lower: the two chains forgotten more
    /// alike) and retain cost = rise of the retain KL per unit rise of the mean forget KL (lower: less damage).
    /// </summary>
    public static string Summary(IReadOnlyList<MarkovCurve> curves)
    {
        static double Unevenness(MarkovPoint p) => Math.Abs(p.Forget1 - p.Forget2) / ((p.Forget1 + p.Forget2) / 2);
        static double RetainCost(MarkovCurve c) =>
            (c.Points[^1].Retain - c.Points[0].Retain) / ((c.Points[^1].Forget1 + c.Points[^1].Forget2 - c.Points[0].Forget1 - c.Points[0].Forget2) / 2);
        var text = new StringBuilder(
            "# Mixture of Markov chains\n\nKL to the true transition rows (mean per token) before unlearning and after the last iteration.\n\n");
        text.AppendLine("| variant | method | retain KL | forget 1 KL | forget 2 KL | unevenness | retain cost |");
        text.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var curve in curves)
        {
            var (first, last) = (curve.Points[0], curve.Points[^1]);
            text.AppendLine($"| {curve.Variant} | {curve.Method} | {first.Retain:F4} -> {last.Retain:F4} | {first.Forget1:F4} -> {last.Forget1:F4} | " +
                            $"{first.Forget2:F4} -> {last.Forget2:F4} | {Unevenness(last):F3} | {RetainCost(curve):F4} |");
        }
        text.AppendLine();
        text.AppendLine("unevenness = |f1 - f2| / mean(f1, f2) at the end; retain cost = retain KL rise per unit of mean forget KL rise.");
        text.AppendLine();
        foreach (var (variant, _) in Variants)
        {
            var npo = curves.Single(c => c.Variant == variant && c.Method == "npo");
            var simnpo = curves.Single(c => c.Variant == variant && c.Method == "simnpo");
            var even = Unevenness(simnpo.Points[^1]) < Unevenness(npo.Points[^1]);
            var gentle = RetainCost(simnpo) < RetainCost(npo);
            text.AppendLine($"- {variant}: SimNPO forgets the two chains {(even ? "more" : "less")} evenly than NPO and at {(gentle ? "lower" : "higher")} " +
                            $"retain cost: the paper's claim {(even && gentle ? "holds" : even || gentle ? "holds in part" : "does not hold")} in this run.");
        }
        return text.ToString();
    }
}
