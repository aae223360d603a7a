using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Tests.Training;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Cli;

/// <summary>--preset: the official per-split settings, resolved under the command line and written to run.json.</summary>
public class PresetTests
{
    /// <summary>Every preset's values are settings under their run.json names, and valid ones.</summary>
    [Test]
    public void EveryPresetResolvesToValidSettings()
    {
        var combinations = 0;
        foreach (var preset in TrainingPresets.Names)
        foreach (var method in TrainingPresets.MethodsOf(preset))
        {
            var json = TrainingPresets.Options(preset, method);
            json["method"] = method;
            json["preset"] = preset;
            var settings = json.Deserialize<TrainingSettings>(TrainingSettings.Json)!;
            Assert.That(settings.Problem(), Is.Null, $"{preset} {method}");
            var effective = preset.StartsWith("tofu", StringComparison.Ordinal) ? 32 : method == "simnpo" ? 4 : 64;
            Assert.That(settings.BatchSize * settings.GradAccum, Is.EqualTo(effective), $"{preset} {method}");
            combinations++;
        }
        Assert.That(combinations, Is.EqualTo(5 * 4), "SimNPO, NPO, GradDiff and GA for every split");
    }

    /// <summary>The values the issue quotes from the official code (TOFU/README.md lines 28 and 31, MUSE/README.md lines 30 and 33).</summary>
    [TestCase("tofu-forget01", "simnpo", 0.1375, 2.5, 1.0, 10)]
    [TestCase("tofu-forget05", "simnpo", 0.1375, 2.5, 1.0, 10)]
    [TestCase("tofu-forget10", "simnpo", 0.125, 4.5, 1.0, 10)]
    [TestCase("muse-news", "simnpo", 1.0, 0.7, 0.1, 10)]
    [TestCase("muse-books", "simnpo", 1.0, 0.75, 0.1, 10)]
    [TestCase("tofu-forget10", "npo", 1.0, 0.1, 1.0, 10)]
    [TestCase("tofu-forget10", "graddiff", 1.0, null, 1.0, 5)]
    public void PresetValuesAreTheOfficialOnes(string preset, string method, double forgetWeight, double? beta, double retainWeight, int epochs)
    {
        var json = TrainingPresets.Options(preset, method);
        Assert.That(json["forget-weight"]!.GetValue<double>(), Is.EqualTo(forgetWeight));
        Assert.That(json["beta"]?.GetValue<double>(), Is.EqualTo(beta));
        Assert.That(json["retain-weight"]!.GetValue<double>(), Is.EqualTo(retainWeight));
        Assert.That(json["epochs"]!.GetValue<int>(), Is.EqualTo(epochs));
        Assert.That(TrainingPresets.Find(preset, method)!.Select(s => s.Source), Has.All.Contain("@"), "each value names its repository and commit");
    }

    [Test]
    public void UnlearnWritesThePresetAndItsResolvedValuesToRunJson()
    {
        using var directory = new TempDirectory();
        var model = TinyModelFiles.SaveModel(directory.File("model"));
        TinyModelFiles.WriteRecords(directory.File("forget.jsonl"), TinyTask.Forget);
        TinyModelFiles.WriteRecords(directory.File("retain.jsonl"), TinyTask.Retain);
        // 12 forget examples: stream batching gives floor(3 · 12 / 32) = 1 step of 32 (batch 1 × 32 micro-batches).
        var run = Simnpo.Run("unlearn", "--model", model, "--forget", directory.File("forget.jsonl"), "--retain", directory.File("retain.jsonl"),
            "--method", "simnpo", "--preset", "tofu-forget10", "--epochs", "3", "--out", directory.File("out"));
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);

        var saved = JsonNode.Parse(File.ReadAllText(directory.File("out/run.json")))!;
        Assert.That(saved["preset"]!.GetValue<string>(), Is.EqualTo("tofu-forget10"));
        Assert.That(saved["epochs"]!.GetValue<int>(), Is.EqualTo(3), "the command line wins over the preset");
        Assert.That((saved["beta"]!.GetValue<double>(), saved["forget-weight"]!.GetValue<double>(), saved["gamma-form"]!.GetValue<string>()),
            Is.EqualTo((4.5, 0.125, "code")));
        Assert.That((saved["batch-size"]!.GetValue<int>(), saved["grad-accum"]!.GetValue<int>(), saved["batching"]!.GetValue<string>()),
            Is.EqualTo((1, 32, "stream")));
        Assert.That((saved["max-length"]!.GetValue<int>(), saved["max-grad-norm"]!.GetValue<double>(), saved["weight-decay"]!.GetValue<double>()),
            Is.EqualTo((500, 0.0, 0.01)));
        Assert.That(File.ReadAllLines(directory.File("out/log.jsonl")), Has.Length.EqualTo(1), "one optimizer step");
    }

    [Test]
    public void APresetWithoutSettingsForTheMethodIsAUsageError()
    {
        using var directory = new TempDirectory();
        var run = Simnpo.Run("unlearn", "--model", directory.File("m"), "--forget", directory.File("f.jsonl"), "--method", "idkpo", "--preset", "muse-news",
            "--out", directory.File("out"));
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(run.Error, Does.Contain("--preset muse-news has no official settings for idkpo (it has: simnpo, npo, ga, graddiff)"));
    }
}
