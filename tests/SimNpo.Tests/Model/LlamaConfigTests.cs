using System.Text.Json.Nodes;
using SimNpo.Model;
using SimNpo.Model.IO;

namespace SimNpo.Tests.Model;

public class LlamaConfigTests
{
    private static JsonObject Stories260K() => new()
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["hidden_size"] = 64,
        ["intermediate_size"] = 172,
        ["num_hidden_layers"] = 5,
        ["num_attention_heads"] = 8,
        ["num_key_value_heads"] = 4,
        ["vocab_size"] = 512,
        ["rms_norm_eps"] = 1e-5,
        ["tie_word_embeddings"] = true,
    };

    [Test]
    public void ReadsFieldsAndDerivesHeadDim()
    {
        var config = LlamaConfig.FromJson(Stories260K(), "config.json");
        Assert.That(config.HeadDim, Is.EqualTo(8));
        Assert.That(config.KvWidth, Is.EqualTo(32));
        Assert.That(config.RopeTheta, Is.EqualTo(10000));
        Assert.That(config.TieWordEmbeddings, Is.True);
    }

    [Test]
    public void SaveAndLoadRoundTrip()
    {
        var json = Stories260K();
        json["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0,
            ["original_max_position_embeddings"] = 8192 };
        json["eos_token_id"] = new JsonArray(128001, 128009);
        json["vocab_size"] = 128256;
        json["sliding_window"] = 4096;
        var config = LlamaConfig.FromJson(json, "config.json");
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"config-{Guid.NewGuid():N}.json");
        config.Save(path);
        Assert.That(LlamaConfig.Load(path), Is.EqualTo(config));
        Assert.That(config.EosTokenId, Is.EqualTo(128001));
        Assert.That(new[] { 128001, 128009, 128008 }.Select(config.IsEndOfSequence), Is.EqualTo(new[] { true, true, false }));
        Assert.That((config.MaxSequenceLength, config.MaxSequenceLengthSource), Is.EqualTo((2048, "max_position_embeddings 2048")),
            "a window limits no sequence's length");
        Assert.That(config.Attention(1, 5, 5).Window, Is.EqualTo(4096), "every attention call carries the window");
        Assert.That((config with { SlidingWindow = 8 }).MaxSequenceLength, Is.EqualTo(2048), "not even one shorter than the positions");
        Assert.That((config with { SlidingWindow = null }).Attention(1, 5, 5).Window, Is.EqualTo(0), "no window: 0");
        File.Delete(path);
    }

    [TestCase("architectures", "[\"GPT2LMHeadModel\"]", "architecture 'GPT2LMHeadModel' is not supported")]
    [TestCase("hidden_size", null, "missing field 'hidden_size'")]
    [TestCase("num_key_value_heads", "3", "multiple of num_key_value_heads")]
    [TestCase("hidden_act", "\"gelu\"", "hidden_act 'gelu'")]
    [TestCase("attention_bias", "true", "attention_bias = true")]
    [TestCase("vocab_size", "\"big\"", "'vocab_size' must be an integer")]
    [TestCase("rope_scaling", "{\"type\":\"linear\",\"factor\":2.0}", "rope_scaling type 'linear'")]
    [TestCase("sliding_window", "0", "sliding_window (0) must be positive or null")]
    [TestCase("sliding_window", "4096.5", "'sliding_window' must be an integer, got 4096.5")]
    [TestCase("eos_token_id", "[2, 1.5]", "'eos_token_id' must be an integer, got 1.5")]
    [TestCase("eos_token_id", "[2, 600]", "eos_token_id 600 is outside the vocabulary of 512")]
    [TestCase("eos_token_id", "[]", "'eos_token_id' must be an integer or a non-empty list of integers, got []")]
    public void RefusesWhatItCannotRun(string field, string? value, string expected)
    {
        var json = Stories260K();
        json[field] = value is null ? null : JsonNode.Parse(value);
        if (value is null) json.Remove(field);
        var error = Assert.Throws<BadInputException>(() => LlamaConfig.FromJson(json, "dir/config.json"))!;
        Assert.That(error.Message, Does.StartWith("dir/config.json: ").And.Contain(expected));
    }

    [Test]
    public void LayoutPlacesTensorsContiguously()
    {
        var layout = new ParameterLayout(LlamaConfig.FromJson(Stories260K(), "config.json"));
        Assert.That(layout.Entries[0].Name, Is.EqualTo("model.embed_tokens.weight"));
        Assert.That(layout.OutputProjection, Is.SameAs(layout.Embedding));
        var next = 0;
        foreach (var entry in layout.Entries)
        {
            Assert.That(entry.Start, Is.EqualTo(next), entry.Name);
            next += entry.Length;
        }
        // stories260K: 512·64 + 5·(64 + 64·64 + 2·32·64 + 64·64 + 64 + 3·172·64) + 64
        Assert.That(layout.TotalLength, Is.EqualTo(512 * 64 + 5 * (64 + 4096 + 4096 + 4096 + 64 + 3 * 172 * 64) + 64));
    }
}
