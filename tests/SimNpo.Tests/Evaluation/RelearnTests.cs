using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Tests.Cli;
using SimNpo.Tests.Training;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// The relearning attack on the tiny task: a model that memorised a forget set and then unlearned it with SimNPO is
/// fine-tuned on that set again, and its forget log-prob climbs back.
/// </summary>
public class RelearnTests
{
    private TempDirectory _directory = null!;
    private string _unlearned = null!;
    private string _forget = null!;

    [OneTimeSetUp]
    public void MemoriseThenUnlearn()
    {
        _directory = new TempDirectory();
        using var model = TinyTask.NewModel();
        new TrainingJob<float>(model, TinyTask.Memorise, new TrainingData([.. TinyTask.Forget, .. TinyTask.Retain], []), _directory.File("memorised"),
            new SilentObserver()).Run(resume: false);
        var unlearning = new TrainingSettings
        {
            Method = "simnpo", LearningRate = 1e-2, Epochs = 12, BatchSize = 4, GradAccum = 1, Warmup = "0", Schedule = "constant", WeightDecay = 0,
        };
        _unlearned = _directory.File("unlearned");
        new TrainingJob<float>(model, unlearning, new TrainingData(TinyTask.Forget, TinyTask.Retain), _unlearned, new SilentObserver()).Run(resume: false);
        // Forgotten: each answer token below ~8% probability on average, from above 80% (the unlearning tests' bounds).
        Assert.That(TinyTask.MeanLogProb(model, TinyTask.Forget), Is.LessThan(-2.5));
        _forget = _directory.File("forget.jsonl");
        File.WriteAllLines(_forget, TinyTask.Forget.Select(e => JsonSerializer.Serialize(new { prompt_ids = e.PromptIds, answer_ids = e.AnswerIds })));
    }

    [OneTimeTearDown]
    public void Clean() => _directory?.Dispose();

    /// <summary>
    /// 12 steps of NLL at lr 1e-2 bring the forget set's mean ℓ from below −2.5 back above −1 (each answer token above
    /// ~37% on average). Step 0 is the unlearned model as given: its ℓ matches a direct measurement up to float32
    /// rounding of the two batchings (1e-5, against sums of a few dozen log-probs below 10 in magnitude).
    /// </summary>
    [Test]
    public void RelearningRecoversTheForgetLogProb()
    {
        var run = _directory.File("relearn");
        var result = Simnpo.Run("relearn", "--model", _unlearned, "--data", _forget, "--steps", "12", "--lr", "1e-2", "--batch-size", "4",
            "--eval-every", "5", "--weight-decay", "0", "--out", run);
        Assert.That(result.Code, Is.EqualTo(CommandRunner.Success), result.Error);

        var curve = JsonNode.Parse(File.ReadAllText(Path.Combine(run, RecoveryCurve.FileName)))!;
        Assert.That(curve["model_sha256"]!.GetValue<string>(), Is.EqualTo(ModelFingerprint.Sha256(_unlearned)));
        Assert.That((curve["forget_records"]!.GetValue<int>(), curve["trained_records"]!.GetValue<int>()), Is.EqualTo((12, 12)));
        var points = curve["points"]!.AsArray();
        Assert.That(points.Select(p => p!["step"]!.GetValue<int>()), Is.EqualTo(new[] { 0, 5, 10, 12 }), "every 5 steps, and the last");
        double Metric(int point, string name) => points[point]!["metrics"]![name]!.GetValue<double>();
        Assert.That(points[0]!["metrics"]!.AsObject().Select(m => m.Key), Is.EquivalentTo(new[] { ForgetMetrics.LogProb, ForgetMetrics.Prob }),
            "no ROUGE without text");

        using var unlearned = ModelFiles.Load(_unlearned, new ReferenceOps<float>());
        Assert.That(Metric(0, ForgetMetrics.LogProb), Is.EqualTo(TinyTask.MeanLogProb(unlearned, TinyTask.Forget)).Within(1e-5));
        Assert.That(Metric(0, ForgetMetrics.LogProb), Is.LessThan(-2.5));
        Assert.That(Metric(3, ForgetMetrics.LogProb), Is.GreaterThan(-1.0));
        Assert.That(Metric(3, ForgetMetrics.Prob), Is.GreaterThan(Metric(0, ForgetMetrics.Prob)));
        // Mean of exp(ℓ_i) is at least exp(mean ℓ_i) (Jensen): Prob and the log-prob are consistent.
        Assert.That(Metric(3, ForgetMetrics.Prob), Is.GreaterThanOrEqualTo(Math.Exp(Metric(3, ForgetMetrics.LogProb))));
        Assert.That(File.Exists(Path.Combine(run, "model.safetensors")), "the relearned model is kept");
    }

    /// <summary>A fraction picks ⌈f·n⌉ distinct records (0.07 of 100 is 7, although 0.07·100 is 7.000000000000001 in doubles), the same for a
    /// seed.</summary>
    [Test]
    public void FractionPicksADistinctSeededSubset()
    {
        var subset = RelearningAttack.Subset(100, 0.07, seed: 3);
        Assert.That(subset, Has.Length.EqualTo(7).And.Unique.And.All.InRange(0, 99));
        Assert.That(RelearningAttack.Subset(100, 0.07, seed: 3), Is.EqualTo(subset));
        Assert.That(RelearningAttack.Subset(12, 0.5, seed: 0), Has.Length.EqualTo(6).And.Unique);
        Assert.That(RelearningAttack.Subset(5, 0.01, seed: 0), Has.Length.EqualTo(1));
    }

    [Test]
    public void BadSettingsAreUsageErrors()
    {
        var result = Simnpo.Run("relearn", "--model", _unlearned, "--data", _forget, "--fraction", "1.5", "--out", _directory.File("bad"));
        Assert.That(result.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(result.Error, Does.Contain("fraction must be in (0, 1]"));
    }
}
