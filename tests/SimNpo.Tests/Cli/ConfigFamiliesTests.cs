using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Tests.Training;

namespace SimNpo.Tests.Cli;

/// <summary>Mistral's sliding window and Llama 3's list of end-of-sequence ids, through the commands.</summary>
public class ConfigFamiliesTests
{
    /// <summary>TinyTask's model directory with config.json fields changed.</summary>
    private static string ModelWith(TempDirectory directory, string name, JsonObject fields)
    {
        var model = TinyModelFiles.SaveModel(directory.File(name));
        var path = Path.Combine(model, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        foreach (var (key, value) in fields) config[key] = value?.DeepClone();
        File.WriteAllText(path, config.ToJsonString());
        return model;
    }

    private static string Continuation(string model, string prompt, int tokens)
    {
        var (code, output, error) = Simnpo.Run("generate", "--model", model, "--prompt", prompt, "--max-new-tokens", tokens.ToString());
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        Assert.That(output, Does.StartWith(prompt));
        return output.TrimEnd('\n')[prompt.Length..];
    }

    [Test]
    public void ASlidingWindowAsLongAsTheSequencesComputesFullAttentionAndLongerOnesAreRefused()
    {
        using var directory = new TempDirectory();
        var plain = TinyModelFiles.SaveModel(directory.File("plain"));
        var mistral = ModelWith(directory, "mistral",
            new JsonObject { ["architectures"] = new JsonArray("MistralForCausalLM"), ["model_type"] = "mistral", ["sliding_window"] = 4096 });
        File.WriteAllText(directory.File("qa.jsonl"), """{"question": "where", "answer": "here"}""" + "\n");
        string[] Grad(string model, string output) =>
            ["grad", "--model", model, "--data", directory.File("qa.jsonl"), "--prompt-format", "{question}", "--answer-prefix", "", "--out",
                directory.File(output)];
        var windowed = Simnpo.Run(Grad(mistral, "mistral.safetensors"));
        Assert.That(windowed.Code, Is.EqualTo(CommandRunner.Success), windowed.Error);
        Assert.That(Simnpo.Run(Grad(plain, "plain.safetensors")).Code, Is.EqualTo(CommandRunner.Success));
        Assert.That(File.ReadAllBytes(directory.File("mistral.safetensors")), Is.EqualTo(File.ReadAllBytes(directory.File("plain.safetensors"))));

        // A window of 8 tokens: generation stops where the window ends, with the same tokens up to there.
        var narrow = ModelWith(directory, "narrow", new JsonObject { ["sliding_window"] = 8 });
        Assert.That(Continuation(narrow, "hello", 10), Is.EqualTo(Continuation(plain, "hello", 10)[..2]), "BOS + 5 prompt tokens + 2 new ones fill the window");
        var tooLong = Simnpo.Run("generate", "--model", narrow, "--prompt", "abcdefghij");
        Assert.That(tooLong.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(tooLong.Error, Does.Contain("the prompt (11 tokens) leaves no room in a cache of 8 (the model's sliding_window 8)"));

        TinyModelFiles.WriteRecords(directory.File("forget.jsonl"), TinyTask.Forget);
        var training = Simnpo.Run("unlearn", "--model", narrow, "--forget", directory.File("forget.jsonl"), "--method", "ga", "--out", directory.File("out"));
        Assert.That(training.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(training.Error,
            Does.Contain($"{directory.File("forget.jsonl")}, line 1: 10 tokens (prompt 4 + answer 6) are more than the model's sliding_window 8"));
    }

    /// <summary>eos_token_id [2, t] with t a token the model generates: generation stops at the first t, as at EOS.</summary>
    [Test]
    public void GenerationStopsAtAnyIdOfAnEosList()
    {
        using var directory = new TempDirectory();
        var plain = TinyModelFiles.SaveModel(directory.File("plain"));
        var free = Continuation(plain, "hello", 12);
        var stop = free[2];
        var stopId = stop - 'a'; // TinyModelFiles' vocabulary: a-z are ids 0-25
        Assert.That(stopId, Is.InRange(3, 25), "a letter that is neither BOS nor EOS");
        var llama3 = ModelWith(directory, "llama3", new JsonObject { ["eos_token_id"] = new JsonArray(2, stopId) });
        Assert.That(Continuation(llama3, "hello", 12), Is.EqualTo(free[..free.IndexOf(stop)]));
    }
}
