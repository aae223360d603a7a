using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Tests.Training;

namespace SimNpo.Tests.Cli;

/// <summary>`finetune` from random weights and `unlearn` after it, through the command line, with --config files.</summary>
public class TrainingCommandTests
{
    [Test]
    public void FinetuneFromScratchThenUnlearnWithAConfigFile()
    {
        using var directory = new TempDirectory();
        TinyTask.Config.Save(directory.File("config.json"));
        TinyModelFiles.WriteRecords(directory.File("all.jsonl"), [.. TinyTask.Forget, .. TinyTask.Retain]);
        TinyModelFiles.WriteRecords(directory.File("forget.jsonl"), TinyTask.Forget);
        TinyModelFiles.WriteRecords(directory.File("retain.jsonl"), TinyTask.Retain);

        // The issue's form: --init random --config <model config.json>.
        var trained = Simnpo.Run("finetune", "--init", "random", "--config", directory.File("config.json"), "--init-std", "0.1", "--data",
            directory.File("all.jsonl"),
            "--out", directory.File("target"), "--lr", "1e-2", "--epochs", "60", "--batch-size", "8", "--grad-accum", "1", "--warmup", "0", "--schedule",
            "constant", "--weight-decay", "0");
        Assert.That(trained.Code, Is.EqualTo(CommandRunner.Success), trained.Error);
        Assert.That(trained.Output, Does.Contain("done: 180 steps"));

        File.WriteAllText(directory.File("run.json"), new JsonObject
        {
            ["model"] = directory.File("target"), ["forget"] = directory.File("forget.jsonl"), ["retain"] = directory.File("retain.jsonl"),
            ["method"] = "simnpo", ["lr"] = 1e-2, ["epochs"] = 12, ["batch-size"] = 4, ["grad-accum"] = 1, ["warmup"] = "0", ["schedule"] = "constant",
            ["weight-decay"] = 0.0, ["eval-every"] = 6,
        }.ToJsonString());
        var unlearned = Simnpo.Run("unlearn", "--config", directory.File("run.json"), "--out", directory.File("unlearned"), "--epochs", "12");
        Assert.That(unlearned.Code, Is.EqualTo(CommandRunner.Success), unlearned.Error);
        Assert.That(unlearned.Output, Does.Match(@"forget_logprob: -0\.\d+ -> -[3-9]\.\d+"));

        var saved = JsonNode.Parse(File.ReadAllText(directory.File("unlearned/run.json")))!;
        Assert.That(saved["lr"]!.GetValue<double>(), Is.EqualTo(1e-2));
        Assert.That(saved["beta"], Is.Null, "unset β stays unset: the method's default applies");
        Assert.That(saved["forget"]!.GetValue<string>(), Is.EqualTo(directory.File("forget.jsonl")));
        Assert.That((saved["prompt-format"]!.GetValue<string>(), saved["answer-prefix"]!.GetValue<string>()), Is.EqualTo(("[INST] {question} [/INST]", "")),
            "the template is part of the run");
        Assert.That(File.Exists(directory.File("unlearned/loss.png")) && File.Exists(directory.File("unlearned/logprob.png")), "curves of the run");
        var log = File.ReadAllLines(directory.File("unlearned/log.jsonl"));
        Assert.That(log, Has.Length.EqualTo(36));
        Assert.That(JsonNode.Parse(log[5])!["eval"]!.AsObject().Select(pair => pair.Key), Is.EquivalentTo(new[] { "forget_logprob", "retain_logprob" }));
        Assert.That(JsonNode.Parse(log[4])!["eval"], Is.Null, "evaluated every 6 steps");
        Assert.That(JsonNode.Parse(log[^1])!["eval"]!["retain_logprob"]!.GetValue<double>(), Is.GreaterThan(-0.6));

        // run.json reads back as a config: resuming the finished run has nothing left to do and changes nothing.
        using var before = ModelFiles.Load(directory.File("unlearned"), new ReferenceOps<float>());
        var resumed = Simnpo.Run("unlearn", "--config", directory.File("unlearned/run.json"), "--out", directory.File("unlearned"), "--resume");
        Assert.That(resumed.Code, Is.EqualTo(CommandRunner.Success), resumed.Error);
        using var after = ModelFiles.Load(directory.File("unlearned"), new ReferenceOps<float>());
        Assert.That(after.Parameters.ToArray(), Is.EqualTo(before.Parameters.ToArray()));
    }

    /// <summary>
    /// IdkPO and the KL retain term on real text: stories260K unlearning TOFU answers. At the first step θ = ref, so
    /// IdkPO's loss is (2/β)·log 2 exactly (β 0.1) and KL(π_ref ‖ πθ) is 0 up to float32 rounding of two log-softmax
    /// paths (per token ~1e-7 relative of values below 10: well under 1e-5).
    /// </summary>
    [Test]
    public void IdkPoAndTheKlRetainTermRunOnText()
    {
        using var directory = new TempDirectory();
        using var modelDirectory = new TempDirectory();
        var model = Stories260K.ConvertInto(modelDirectory);
        File.WriteAllLines(directory.File("forget.jsonl"), File.ReadLines(SharedFiles.Require("data/tofu/forget01.jsonl")).Take(8));
        File.WriteAllLines(directory.File("retain.jsonl"), File.ReadLines(SharedFiles.Require("data/tofu/retain99.jsonl")).Take(8));
        string[] Common(string output)
            => ["--model", model, "--forget", directory.File("forget.jsonl"), "--retain", directory.File("retain.jsonl"), "--out", directory.File(output),
            "--epochs", "1", "--batch-size", "4", "--grad-accum", "1", "--max-length", "96", "--lr", "1e-3"];
        JsonNode FirstStep(string output) => JsonNode.Parse(File.ReadLines(directory.File(output + "/log.jsonl")).First())!;

        var idk = Simnpo.Run(["unlearn", "--method", "idkpo", "--refusals", SharedFiles.Require("data/tofu/idontknow.txt"), .. Common("idk")]);
        Assert.That(idk.Code, Is.EqualTo(CommandRunner.Success), idk.Error);
        Assert.That(FirstStep("idk")["forget_loss"]!.GetValue<double>(), Is.EqualTo(2 / 0.1 * Math.Log(2)).Within(1e-9));

        var kl = Simnpo.Run(["unlearn", "--method", "simnpo", "--retain-loss", "kl", .. Common("kl")]);
        Assert.That(kl.Code, Is.EqualTo(CommandRunner.Success), kl.Error);
        Assert.That(kl.Output, Does.Contain("loading the reference model for the KL retain term"));
        Assert.That(FirstStep("kl")["retain_loss"]!.GetValue<double>(), Is.EqualTo(0).Within(1e-5));

        var noRefusals = Simnpo.Run(["unlearn", "--method", "idkpo", .. Common("none")]);
        Assert.That(noRefusals.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(noRefusals.Error, Does.Contain("--refusals"));
    }

    [Test]
    public void ConfigMistakesAreNamed()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(directory.File("run.json"), """{"learning-rate": 0.1}""");
        var unknown = Simnpo.Run("unlearn", "--config", directory.File("run.json"), "--out", directory.File("out"));
        Assert.That(unknown.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(unknown.Error, Does.Contain($"{directory.File("run.json")}: 'learning-rate' is not an option of unlearn"));

        File.WriteAllText(directory.File("run.json"), """{"epochs": "ten"}""");
        var wrongType = Simnpo.Run("unlearn", "--config", directory.File("run.json"), "--model", directory.Path, "--forget", "f.jsonl", "--out",
            directory.File("out"));
        Assert.That(wrongType.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(wrongType.Error, Does.Contain("'epochs' has the wrong type"));

        // The template comes from the config file like every other option (it was once read from the command line only).
        File.WriteAllText(directory.File("run.json"), """{"prompt-format": "Q:"}""");
        var badTemplate = Simnpo.Run("unlearn", "--config", directory.File("run.json"), "--model", directory.Path, "--forget", "f.jsonl", "--out",
            directory.File("out"));
        Assert.That(badTemplate.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(badTemplate.Error, Does.Contain("the prompt format 'Q:' must contain {question}"));

        var missing = Simnpo.Run("unlearn", "--out", directory.File("out"));
        Assert.That(missing.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(missing.Error, Does.Contain("--model is required"));
    }
}
