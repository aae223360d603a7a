using SimNpo.Cli;
using SimNpo.Model;
using SimNpo.Tests.Training;

namespace SimNpo.Tests.Cli;

/// <summary>
/// --recompute and --device-memory on the training commands: recomputation trains the very same model, a resume with
/// another setting and a plan over the device's memory are refused before any weights load.
/// </summary>
public class RecomputeTrainingTests
{
    private static readonly string[] Common =
        ["--lr", "1e-2", "--batch-size", "4", "--grad-accum", "2", "--warmup", "0", "--schedule", "constant", "--device", "cpu"];

    /// <summary>A tiny target from scratch, then SimNPO with the KL retain term (both heads, and the reference model) both ways.</summary>
    [Test]
    public void UnlearningWithRecomputedLayersWritesTheSameModelAndLog()
    {
        using var directory = new TempDirectory();
        TinyTask.Config.Save(directory.File("config.json"));
        TinyModelFiles.WriteRecords(directory.File("all.jsonl"), [.. TinyTask.Forget, .. TinyTask.Retain]);
        TinyModelFiles.WriteRecords(directory.File("forget.jsonl"), TinyTask.Forget);
        TinyModelFiles.WriteRecords(directory.File("retain.jsonl"), TinyTask.Retain);
        var target = Simnpo.Run(["finetune", "--init", "random", "--model-config", directory.File("config.json"), "--data", directory.File("all.jsonl"),
            "--out", directory.File("target"), "--epochs", "3", .. Common]);
        Assert.That(target.Code, Is.EqualTo(CommandRunner.Success), target.Error);

        byte[][] Unlearn(string recompute)
        {
            var output = directory.File("unlearned-" + recompute);
            var run = Simnpo.Run(["unlearn", "--model", directory.File("target"), "--forget", directory.File("forget.jsonl"), "--retain",
                directory.File("retain.jsonl"),
                "--retain-loss", "kl", "--epochs", "2", "--recompute", recompute, "--out", output, .. Common]);
            Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
            // The log's lines (losses, gradient norms, log-probs) without their wall-clock seconds.
            var log = File.ReadAllLines(Path.Combine(output, "log.jsonl")).Select(line =>
            {
                var record = System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject();
                record.Remove("seconds");
                return record.ToJsonString();
            });
            return [File.ReadAllBytes(Path.Combine(output, "model.safetensors")), System.Text.Encoding.UTF8.GetBytes(string.Join("\n", log))];
        }
        var kept = Unlearn("none");
        var recomputed = Unlearn("layers");
        Assert.That(recomputed[0], Is.EqualTo(kept[0]), "the unlearned weights, byte for byte");
        Assert.That(System.Text.Encoding.UTF8.GetString(recomputed[1]), Is.EqualTo(System.Text.Encoding.UTF8.GetString(kept[1])), "every step's losses");
    }

    /// <summary>The precision and the recompute setting are the run's: a resume with another one is refused before any weights load.</summary>
    [TestCase("--recompute", "none", "layers")]
    [TestCase("--precision", "fp32", "bf16")]
    public void AResumeWithAnotherStorageSettingIsRefusedBeforeAnyWeightsLoad(string option, string first, string second)
    {
        using var directory = new TempDirectory();
        TinyTask.Config.Save(directory.File("config.json"));
        TinyModelFiles.WriteRecords(directory.File("all.jsonl"), [.. TinyTask.Forget, .. TinyTask.Retain]);
        string[] Finetune(string value, params string[] more) => ["finetune", "--init", "random", "--model-config", directory.File("config.json"),
            "--data", directory.File("all.jsonl"), "--out", directory.File("run"), "--epochs", "1", "--save-every", "1", option, value, .. more, .. Common];
        var firstRun = Simnpo.Run(Finetune(first));
        Assert.That(firstRun.Code, Is.EqualTo(CommandRunner.Success), firstRun.Error);
        // Were any weights read, this damaged checkpoint would be the error.
        foreach (var weights in Directory.GetFiles(directory.File("run"), "model.safetensors", SearchOption.AllDirectories))
            File.WriteAllText(weights, "not safetensors");
        var resumed = Simnpo.Run(Finetune(second, "--resume"));
        Assert.That(resumed.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(resumed.Error, Does.Contain("the checkpoint was made with other settings").And.Contain($"\"{option[2..]}\":\"{first}\""));
    }

    [Test]
    public void APlanOverTheDevicesMemoryIsRefusedBeforeTheRunStarts()
    {
        using var directory = new TempDirectory();
        TinyTask.Config.Save(directory.File("config.json"));
        TinyModelFiles.WriteRecords(directory.File("all.jsonl"), TinyTask.Forget);
        var run = Simnpo.Run(["finetune", "--init", "random", "--model-config", directory.File("config.json"), "--data", directory.File("all.jsonl"),
            "--out", directory.File("run"), "--device-memory", "0.0001", .. Common]);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(run.Error,
            Does.Match(
            @"^error: training needs 0\.00105 GB at batch 4 x 32 \(fp32, recompute none\), more than the device's 0\.0001 GB; try --recompute layers"));
        Assert.That(Directory.Exists(directory.File("run")), Is.False, "nothing written");
    }
}
