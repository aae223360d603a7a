using System.Text;
using System.Text.Json;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Experiments;

/// <summary>One method's outcome: mean ℓ = log πθ(y|x)/|y| on each evaluation set after unlearning.</summary>
public sealed record DemoRow(string Method, double ForgetShort, double ForgetLong, double Retain);

/// <summary>
/// The built-in demo, generated and trained from scratch with nothing downloaded: a tiny Llama memorises random
/// prompt → answer "facts", then GA, NPO and SimNPO each unlearn the same forget set under the same budget. The
/// forget set mixes short and long answers, the case SimNPO's length normalisation is about: NPO's reference-model
/// weighting treats them unevenly, SimNPO should push both down alike while the retain set stays known.
/// </summary>
public sealed class MemorisationDemo(string outputDirectory, string device, int seed, Action<string> say)
{
    public static readonly string[] Methods = ["ga", "npo", "simnpo"];

    private static readonly LlamaConfig Config = new()
    {
        HiddenSize = 64,
        IntermediateSize = 128,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 16,
        VocabSize = 64,
        RmsNormEps = 1e-5,
        MaxPositionEmbeddings = 64,
    };

    public IReadOnlyList<DemoRow> Run()
    {
        var random = new Random(seed);
        var forgetShort = Facts(random, 8, answerLength: 2);
        var forgetLong = Facts(random, 8, answerLength: 12);
        var retain = Facts(random, 32, answerLength: 6);
        IReadOnlyList<TokenizedExample> forget = [.. forgetShort, .. forgetLong];
        var ops = Devices.Create(device);

        var targetDirectory = Path.Combine(outputDirectory, "target");
        if (File.Exists(Path.Combine(targetDirectory, "model.safetensors")))
            say($"target model found in {targetDirectory}: skipping its training");
        else
            Train(ops, targetDirectory, [.. forget, .. retain]);

        var rows = new List<DemoRow>();
        using (var target = ModelFiles.Load(targetDirectory, ops))
            rows.Add(Evaluate("target", target, forgetShort, forgetLong, retain));
        foreach (var method in Methods)
        {
            var runDirectory = Path.Combine(outputDirectory, method);
            if (Directory.Exists(runDirectory)) Directory.Delete(runDirectory, recursive: true);
            using var model = ModelFiles.Load(targetDirectory, ops);
            say($"unlearning with {method}");
            new Trainer<float>(model, Unlearning(method), new TrainingData(forget, retain), runDirectory, new SilentObserver()).Run(resume: false);
            rows.Add(Evaluate(method, model, forgetShort, forgetLong, retain));
        }
        Report(rows);
        return rows;
    }

    /// <summary>Random token "facts": a 4-token prompt after BOS and an answer of the given length, then EOS.</summary>
    private static TokenizedExample[] Facts(Random random, int count, int answerLength) =>
        Enumerable.Range(0, count)
            .Select(_ => new TokenizedExample([1, .. Enumerable.Range(0, 4).Select(_ => random.Next(3, Config.VocabSize))],
                [.. Enumerable.Range(0, answerLength).Select(_ => random.Next(3, Config.VocabSize)), 2]))
            .ToArray();

    private void Train(IOps<float> ops, string directory, IReadOnlyList<TokenizedExample> all)
    {
        say($"training the target model from scratch on {all.Count} facts");
        using var model = new LlamaModel<float>(Config, ops);
        ModelInitializer.Randomize(model, seed, std: 0.1);
        var settings = new TrainingSettings
        {
            Method = "nll", LearningRate = 1e-2, Epochs = 80, BatchSize = 16, GradAccum = 1, Warmup = "0", Schedule = "constant",
            WeightDecay = 0, RetainWeight = 0, Seed = seed, Device = device,
        };
        ModelTraining.TrainAndSave(model, settings, new TrainingData(all, []), directory);
    }

    /// <summary>The same budget for every method: 10 epochs of the forget set, batch 4, constant lr, retain weight 1 (GA has none).</summary>
    private TrainingSettings Unlearning(string method) => new()
    {
        Method = method, LearningRate = method == "ga" ? 2e-3 : 5e-3, Epochs = 10, BatchSize = 4, GradAccum = 1, Warmup = "0", Schedule = "constant",
        WeightDecay = 0, Seed = seed, Device = device, Beta = method == "npo" ? 0.1 : 2.5,
    };

    private static DemoRow Evaluate(string name, LlamaModel<float> model, IReadOnlyList<TokenizedExample> forgetShort, IReadOnlyList<TokenizedExample> forgetLong, IReadOnlyList<TokenizedExample> retain)
    {
        double Mean(IReadOnlyList<TokenizedExample> set) => NormalisedLogProb.Mean(model, set, 16, Config.MaxPositionEmbeddings);
        return new DemoRow(name, Mean(forgetShort), Mean(forgetLong), Mean(retain));
    }

    public static string Table(IReadOnlyList<DemoRow> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| model | forget, short answers ℓ | forget, long answers ℓ | retain ℓ |");
        text.AppendLine("| --- | ---: | ---: | ---: |");
        foreach (var row in rows) text.AppendLine($"| {row.Method} | {row.ForgetShort:F3} | {row.ForgetLong:F3} | {row.Retain:F3} |");
        return text.ToString();
    }

    private void Report(IReadOnlyList<DemoRow> rows)
    {
        var json = JsonSerializer.Serialize(new { seed, device, rows }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, "report.json"), json + "\n");
        var markdown = "# SimNpo demo\n\nMean length-normalised log-probability ℓ = log πθ(y|x)/|y| of each set (0 is certain, " +
                       $"−log {Config.VocabSize} ≈ {-Math.Log(Config.VocabSize):F2} is a uniform guess). Unlearning should push both forget columns down and keep retain near the target's.\n\n" +
                       Table(rows);
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, "report.md"), markdown);
    }
}
