using System.Security.Cryptography;
using SimNpo.Cli;
using SimNpo.Tests.Training;

namespace SimNpo.Tests.Cli;

/// <summary>--resume continues only the run the folder holds: the same data and model (by content), and says when that run is finished.</summary>
public class ResumeInputsTests
{
    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Test]
    public void AResumeWithOtherDataOrAnotherModelIsRefusedNamingWhatChanged()
    {
        using var directory = new TempDirectory();
        var model = TinyModelFiles.SaveModel(directory.File("model"));
        var (forget, retain, output) = (directory.File("forget.jsonl"), directory.File("retain.jsonl"), directory.File("run"));
        TinyModelFiles.WriteRecords(forget, TinyTask.Forget);
        TinyModelFiles.WriteRecords(retain, TinyTask.Retain);
        string[] Unlearn(string modelDirectory, string forgetFile, params string[] more) =>
            ["unlearn", "--model", modelDirectory, "--forget", forgetFile, "--retain", retain, "--out", output, "--method", "simnpo",
                "--epochs", "2", "--batch-size", "4", "--grad-accum", "1", "--lr", "1e-3", "--save-every", "1", .. more];
        var first = Simnpo.Run(Unlearn(model, forget));
        Assert.That(first.Code, Is.EqualTo(CommandRunner.Success), first.Error);
        var finished = File.ReadAllBytes(Path.Combine(output, "model.safetensors"));
        var originalHash = Sha256(forget);

        // The same path with other content: one answer token changed.
        var lines = File.ReadAllLines(forget);
        File.WriteAllLines(forget, [lines[0].Replace("]}", ", 5]}"), .. lines[1..]]);
        var changed = Simnpo.Run(Unlearn(model, forget, "--resume"));
        Assert.That(changed.Code, Is.EqualTo(CommandRunner.Failure), changed.Output);
        Assert.That(changed.Error, Is.EqualTo($"error: {forget}: --forget differs from the run in {output}, which it cannot resume: it started with {forget} " +
            $"(sha256 {originalHash[..16]}…), this run gives {forget} (sha256 {Sha256(forget)[..16]}…); resume with the same inputs or choose another --out"
            + Environment.NewLine));
        Assert.That(File.ReadAllBytes(Path.Combine(output, "model.safetensors")), Is.EqualTo(finished), "the finished model is left as it was");

        // Another model (other weights, same shape).
        File.WriteAllLines(forget, lines);
        var otherModel = TinyModelFiles.SaveModel(directory.File("other-model"), seed: 1);
        var anotherModel = Simnpo.Run(Unlearn(otherModel, forget, "--resume"));
        Assert.That(anotherModel.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(anotherModel.Error,
            Does.StartWith($"error: {otherModel}: --model differs from the run in {output}, which it cannot resume: it started with {model} (sha256 "));

        // The same run, finished: it says so (no "final loss NaN") and changes nothing.
        var again = Simnpo.Run(Unlearn(model, forget, "--resume"));
        Assert.That(again.Code, Is.EqualTo(CommandRunner.Success), again.Error);
        Assert.That(again.Output, Does.Contain($"the run in {output} had already finished its 6 steps: nothing to resume"));
        Assert.That(again.Output, Does.Contain("already finished: 6 steps").And.Not.Contain("NaN"));
        Assert.That(File.ReadAllBytes(Path.Combine(output, "model.safetensors")), Is.EqualTo(finished));

        // Interrupted after step 5, resumed with the same data moved elsewhere: it continues to the same weights, bit for bit.
        Directory.Delete(Path.Combine(output, "checkpoints", "step-000006"), recursive: true);
        var moved = directory.File("moved.jsonl");
        File.Move(forget, moved);
        var resumed = Simnpo.Run(Unlearn(model, moved, "--resume"));
        Assert.That(resumed.Code, Is.EqualTo(CommandRunner.Success), resumed.Error);
        Assert.That(resumed.Output, Does.Contain($"--forget moved from {forget} to {moved} (same content)").And.Contain("done: 6 steps"));
        Assert.That(File.ReadAllBytes(Path.Combine(output, "model.safetensors")), Is.EqualTo(finished));

        // A run started by a simnpo that trained differently (inputs.json as it wrote it: the inputs alone) is refused.
        var inputsFile = Path.Combine(output, "inputs.json");
        File.WriteAllText(inputsFile, System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(inputsFile))!["inputs"]!.ToJsonString());
        var older = Simnpo.Run(Unlearn(model, moved, "--resume"));
        Assert.That(older.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(older.Error, Does.StartWith($"error: {inputsFile}: records a run of training version 1, this simnpo trains as version 2"));
    }
}
