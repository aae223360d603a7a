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

    /// <summary>
    /// A window as long as the sequences changes no bit of a gradient; a window of 8 is honoured rather than a limit:
    /// generation goes on past it with the same first tokens as without it (until a query's window leaves out the first
    /// key), and training on sequences longer than it runs, with other gradients than without the window.
    /// </summary>
    [Test]
    public void ASlidingWindowIsHonouredAtAnyLength()
    {
        using var directory = new TempDirectory();
        var plain = TinyModelFiles.SaveModel(directory.File("plain"));
        var mistral = ModelWith(directory, "mistral",
            new JsonObject { ["architectures"] = new JsonArray("MistralForCausalLM"), ["model_type"] = "mistral", ["sliding_window"] = 4096 });
        var narrow = ModelWith(directory, "narrow", new JsonObject { ["sliding_window"] = 8 });
        File.WriteAllText(directory.File("qa.jsonl"), """{"question": "where is it", "answer": "here it is"}""" + "\n");
        string Grad(string model, string output)
        {
            var (code, _, error) = Simnpo.Run("grad", "--model", model, "--data", directory.File("qa.jsonl"), "--prompt-format", "{question}",
                "--answer-prefix", "", "--out", directory.File(output));
            Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
            return directory.File(output);
        }
        var plainGrad = File.ReadAllBytes(Grad(plain, "plain.safetensors"));
        Assert.That(File.ReadAllBytes(Grad(mistral, "mistral.safetensors")), Is.EqualTo(plainGrad));
        Assert.That(File.ReadAllBytes(Grad(narrow, "narrow.safetensors")), Is.Not.EqualTo(plainGrad), "22 tokens under a window of 8");

        // BOS + 5 prompt tokens: the new tokens at positions 6, 7 and 8 come from queries at 5, 6 and 7, which see every key.
        var (windowed, full) = (Continuation(narrow, "hello", 12), Continuation(plain, "hello", 12));
        Assert.That(windowed[..3], Is.EqualTo(full[..3]));
        Continuation(narrow, "abcdefghij", 4); // a prompt of 11 tokens, longer than the window: generation runs (Continuation asserts it)

        TinyModelFiles.WriteRecords(directory.File("forget.jsonl"), TinyTask.Forget);
        var training = Simnpo.Run("unlearn", "--model", narrow, "--forget", directory.File("forget.jsonl"), "--method", "ga", "--out", directory.File("out"));
        Assert.That(training.Code, Is.EqualTo(CommandRunner.Success), training.Error);
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
