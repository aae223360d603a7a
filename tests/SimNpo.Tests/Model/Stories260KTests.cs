using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.Generation;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Tests.Model;

/// <summary>The converted llama2.c stories260K, run by the CPU reference, tells its published greedy story.</summary>
public class Stories260KTests
{
    private const string PublishedStart = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    [Test]
    public void GreedyGenerationFromBosTellsThePublishedStory()
    {
        using var directory = new TempDirectory();
        using var model = ModelFiles.Load(Stories260K.ConvertInto(directory), new ReferenceOps<float>());
        var tokenizer = TokenizerLoader.Load(directory.Path, model.Config);
        using var generator = new Generator<float>(model, capacity: 64);

        var tokens = generator.Generate([model.Config.BosTokenId], maxNewTokens: 40, logits => TokenSampler.Argmax(logits)).ToList();
        var text = tokenizer.Decode(tokens);
        TestContext.Out.WriteLine(text);
        Assert.That(text, Does.StartWith(PublishedStart));
    }

    /// <summary>
    /// One generator, three prompts: BOS alone (a one-row prefill), a sentence (a multi-row prefill, the causal mask inside
    /// it and the cache it leaves), and a shorter one, so a generator reused across prompts of other lengths is covered.
    /// </summary>
    [Test]
    public void CachedDecodingEqualsRecomputingTheWholeSequence()
    {
        using var directory = new TempDirectory();
        using var model = ModelFiles.Load(Stories260K.ConvertInto(directory), new ReferenceOps<double>());
        var tokenizer = TokenizerLoader.Load(directory.Path, model.Config);
        using var generator = new Generator<double>(model, capacity: 32);
        var bos = model.Config.BosTokenId;
        foreach (var text in new[] { "", "Once upon a time there was", "Lily" })
        {
            int[] prompt = [bos, .. tokenizer.Encode(text)];
            var logitsSeen = new List<float[]>();
            var continuation = generator.Generate(prompt, maxNewTokens: 12,
                logits => { logitsSeen.Add(logits); return TokenSampler.Argmax(logits); }).ToArray();

            // The training forward scores every next token of the whole sequence at once; with the cache each came one at
            // a time. In float64 the two orders of summation agree to ~1e-12 in the log-probs.
            var scores = model.Forward(TokenBatch.FromExamples([new TokenizedExample(prompt, continuation)])).Scores;
            var cached = 0.0;
            for (var i = 0; i < continuation.Length; i++)
            {
                var row = logitsSeen[i].Select(x => (double)x).ToArray();
                var max = row.Max();
                cached += row[continuation[i]] - max - Math.Log(row.Sum(x => Math.Exp(x - max)));
            }
            // The cached logits passed through float32 for the sampler: ~1e-7 relative each, 12 tokens.
            Assert.That(scores.LogProb[0], Is.EqualTo(cached).Within(1e-4), $"prompt '{text}'");
        }
    }
}
