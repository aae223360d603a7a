using System.Text.Json;
using SimNpo.Cli;
using SimNpo.Model;
using SimNpo.Tests.Training;

namespace SimNpo.Tests.Cli;

/// <summary>Every record is checked against the lengths a run trains before the first step: refused with file, line and lengths, or dropped with
/// --skip-long.</summary>
public class DataLengthTests
{
    /// <summary>TinyTask's model, and its forget set with line 3 replaced by an example of the given prompt length (answer: 6 tokens).</summary>
    private static (string Model, string Forget) ModelAndForgetWithALongRecord(TempDirectory directory, int promptLength)
    {
        var model = TinyModelFiles.SaveModel(directory.File("model"));
        var path = directory.File("forget.jsonl");
        TinyModelFiles.WriteRecords(path, TinyTask.Forget);
        var lines = File.ReadAllLines(path);
        lines[2] = JsonSerializer.Serialize(new { prompt_ids = Enumerable.Repeat(5, promptLength), answer_ids = new[] { 6, 7, 8, 9, 10, 2 } });
        File.WriteAllLines(path, lines);
        return (model, path);
    }

    /// <summary>The error output of a command that must fail (exit 1).</summary>
    private static string Refusal(string[] args)
    {
        var (code, output, error) = Simnpo.Run(args);
        Assert.That(code, Is.EqualTo(CommandRunner.Failure), output);
        return error;
    }

    private static string[] Unlearn(string model, string forget, string output, params string[] more) =>
        ["unlearn", "--model", model, "--forget", forget, "--method", "simnpo", "--retain-weight", "0", "--out", output,
            "--epochs", "2", "--batch-size", "4", "--grad-accum", "1", "--lr", "1e-3", .. more];

    [Test]
    public void APromptThatFillsMaxLengthIsRefusedBeforeTrainingOrSkipped()
    {
        using var directory = new TempDirectory();
        var (model, forget) = ModelAndForgetWithALongRecord(directory, promptLength: 20);

        Assert.That(Refusal(Unlearn(model, forget, directory.File("refused"), "--max-length", "16")),
            Is.EqualTo($"error: {forget}, line 3: the prompt alone has 20 tokens, which leaves none of the answer's 6 to score " +
            "within --max-length 16; pass --skip-long to drop such records" + Environment.NewLine));
        Assert.That(Directory.Exists(directory.File("refused/checkpoints")), Is.False, "nothing trained");

        var skipped = Simnpo.Run(Unlearn(model, forget, directory.File("skipped"), "--max-length", "16", "--skip-long"));
        Assert.That(skipped.Code, Is.EqualTo(CommandRunner.Success), skipped.Error);
        Assert.That(skipped.Output, Does.Contain($"--skip-long: dropped 1 of 12 records of {forget}, too long for --max-length 16 or the model"));
        // 11 examples in batches of 4: 3 steps per epoch.
        Assert.That(File.ReadAllLines(directory.File("skipped/log.jsonl")), Has.Length.EqualTo(6));
        Assert.That(File.ReadAllText(directory.File("skipped/run.json")), Does.Contain("\"skip-long\": true"));
    }

    /// <summary>--max-length above the model's 32 positions: a 40-token record is refused, not trained past the positions the model has.</summary>
    [Test]
    public void ASequenceLongerThanMaxPositionEmbeddingsIsRefused()
    {
        using var directory = new TempDirectory();
        var (model, forget) = ModelAndForgetWithALongRecord(directory, promptLength: 34);
        Assert.That(Refusal(Unlearn(model, forget, directory.File("out"), "--max-length", "64")),
            Does.Contain(
            $"{forget}, line 3: 40 tokens (prompt 34 + answer 6) are more than the model's max_position_embeddings {TinyTask.Config.MaxPositionEmbeddings}"));

        // grad cuts nothing: the whole record must fit.
        Assert.That(Refusal(["grad", "--model", model, "--data", forget, "--out", directory.File("grad.safetensors")]),
            Is.EqualTo($"error: {forget}, line 3: 40 tokens (prompt 34 + answer 6) are more than the model's max_position_embeddings 32"
            + Environment.NewLine));
    }

    [Test]
    public void InvalidUtf8IsRefusedNamingFileAndLine()
    {
        using var directory = new TempDirectory();
        var model = TinyModelFiles.SaveModel(directory.File("model"));
        var path = directory.File("qa.jsonl");
        using (var file = File.Create(path))
        {
            file.Write("{\"question\": \"abc\", \"answer\": \"def\"}\n"u8);
            file.Write("{\"question\": \"ab"u8);
            file.Write([0xC3, 0x28]); // a lead byte followed by no continuation byte
            file.Write("\", \"answer\": \"def\"}\n"u8);
        }
        Assert.That(Refusal(["grad", "--model", model, "--data", path, "--out", directory.File("grad.safetensors")]),
            Is.EqualTo($"error: {path}, line 2: not valid UTF-8" + Environment.NewLine));
    }
}
