using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.Generation;

namespace SimNpo.Tests.Generation;

/// <summary>
/// Generation with the KV cache under a sliding window (Mistral's sliding_window): decoding queries sit at absolute
/// positions past the start of the cache, and see only the window's keys of it.
/// </summary>
public class SlidingWindowGenerationTests
{
    private const int Eos = 2;

    private static LlamaConfig TinyConfig(int layers, int? window) =>
        LlamaConfig.Shaped(hidden: 8, intermediate: 12, layers: layers, heads: 4, kvHeads: 2, headDim: 4, vocab: 11, maxPositions: 32)
            with { RopeTheta = 300, SlidingWindow = window, EosTokenId = Eos };

    private static LlamaModel<double> RandomModel(LlamaConfig config)
    {
        var model = new LlamaModel<double>(config, new ReferenceOps<double>());
        ModelInitializer.Randomize(model, seed: 9, std: 0.5, normStd: 0.2);
        return model;
    }

    /// <summary>Greedy over every token but EOS, so every step is taken; the logits it saw are kept.</summary>
    private static (int[] Tokens, List<double[]> Logits) Decode(Generator<double> generator, int[] prompt, int newTokens)
    {
        var seen = new List<double[]>();
        var tokens = generator.Generate(prompt, newTokens, logits =>
        {
            seen.Add(logits.Select(x => (double)x).ToArray());
            return Enumerable.Range(0, logits.Length).Where(t => t != Eos).MaxBy(t => logits[t]);
        }).ToArray();
        return (tokens, seen);
    }

    /// <summary>
    /// Two layers, a window of 3, a prompt of 4 and 10 new tokens, each chosen greedily from logits computed one query at a
    /// time against the cache. Each step's logits are those of a fresh prefill of the whole growing sequence (every
    /// query at once from position 0, no cache), and the sequence's log-probability is that of the training forward.
    /// Both sides run in float64 and reach the picker as float32 (one rounding each, 2⁻²⁴ relative, |logits| &lt; 10):
    /// 1e-5 is hundreds of those roundings, while a key seen or missed moves logits by O(0.1). The same weights without
    /// the window give other logits once the sequence passes 3 tokens, so the window is in force.
    /// </summary>
    [Test]
    public void CachedDecodingWithAWindowEqualsRecomputingTheGrowingSequence()
    {
        using var model = RandomModel(TinyConfig(layers: 2, window: 3));
        using var unwindowed = new LlamaModel<double>(model.Config with { SlidingWindow = null }, model.Ops);
        unwindowed.Parameters.CopyFrom(model.Parameters);
        using var generator = new Generator<double>(model, capacity: 16);
        int[] prompt = [1, 5, 7, 3];
        var (tokens, logits) = Decode(generator, prompt, newTokens: 10);
        Assert.That(tokens, Has.Length.EqualTo(10));

        var differences = new List<double>();
        for (var step = 0; step < tokens.Length; step++)
        {
            int[] sequence = [.. prompt, .. tokens[..step]];
            using var fresh = new Generator<double>(model, capacity: sequence.Length + 1);
            var (_, prefill) = Decode(fresh, sequence, newTokens: 1);
            Assert.That(logits[step], Is.EqualTo(prefill[0]).Within(1e-5), $"step {step}");
            using var plain = new Generator<double>(unwindowed, capacity: sequence.Length + 1);
            differences.Add(logits[step].Zip(Decode(plain, sequence, newTokens: 1).Logits[0], (a, b) => Math.Abs(a - b)).Max());
        }
        Assert.That(differences.Min(), Is.GreaterThan(1e-3), "every sequence here is longer than the window: it changes every step's logits");

        var forward = model.Forward(TokenBatch.FromExamples([new TokenizedExample(prompt, tokens)])).Scores.LogProb[0];
        var cached = tokens.Select((token, step) => LogSoftmax(logits[step], token)).Sum();
        Assert.That(forward, Is.EqualTo(cached).Within(1e-4), "10 log-probs from float32 logits");
    }

    /// <summary>
    /// The window's meaning at the model level, independent of how any kernel masks: with one layer the last token's
    /// logits depend on the keys of the window alone, and rotary attention on their relative positions alone, so a
    /// windowed model's logits after a sequence equal those of the same weights without a window after its last 3 tokens
    /// (at positions 0..2 instead). float64 inside, float32 at the picker; the rotations at other angles round differently
    /// by ~1e-16.
    /// </summary>
    [Test]
    public void OneLayersWindowedLogitsAreThoseOfTheWindowsTokensAlone()
    {
        using var model = RandomModel(TinyConfig(layers: 1, window: 3));
        using var unwindowed = new LlamaModel<double>(model.Config with { SlidingWindow = null }, model.Ops);
        unwindowed.Parameters.CopyFrom(model.Parameters);
        int[] sequence = [1, 5, 7, 3, 9, 4, 8, 6];
        for (var length = 4; length <= sequence.Length; length++)
        {
            using var windowed = new Generator<double>(model, capacity: length + 1);
            using var alone = new Generator<double>(unwindowed, capacity: 4);
            var expected = Decode(alone, sequence[(length - 3)..length], newTokens: 1).Logits[0];
            Assert.That(Decode(windowed, sequence[..length], newTokens: 1).Logits[0], Is.EqualTo(expected).Within(1e-5), $"length {length}");
        }
    }

    private static double LogSoftmax(double[] logits, int token)
    {
        var max = logits.Max();
        return logits[token] - max - Math.Log(logits.Sum(x => Math.Exp(x - max)));
    }
}
