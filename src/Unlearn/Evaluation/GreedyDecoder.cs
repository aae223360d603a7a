using System.Numerics;
using SimNpo.Model;
using SimNpo.Model.Generation;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// Greedy continuations as text, the way the benchmarks generate for ROUGE (do_sample=False, special tokens skipped).
/// One KV cache serves every prompt: each generation starts by overwriting it from position 0.
/// </summary>
public sealed class GreedyDecoder<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Generator<T> _generator;
    private readonly ITextTokenizer _tokenizer;
    private readonly TokenSampler _argmax = new(temperature: 0, topP: 1, seed: 0);
    private readonly LlamaConfig _config;

    /// <param name="capacity">The longest prompt plus continuation, in tokens; cut to the model's max_position_embeddings.</param>
    public GreedyDecoder(LlamaModel<T> model, ITextTokenizer tokenizer, int capacity)
    {
        _generator = new Generator<T>(model, Math.Min(capacity, model.Config.MaxSequenceLength));
        _tokenizer = tokenizer;
        _config = model.Config;
    }

    /// <summary>Prompt plus continuation never exceed this many tokens.</summary>
    public int Capacity => _generator.Capacity;

    /// <summary>
    /// Up to maxNewTokens greedy tokens after the prompt, fewer when the cache fills first, decoded without EOS.
    /// A prompt that fills the cache by itself gets an empty continuation.
    /// </summary>
    public string Complete(IReadOnlyList<int> prompt, int maxNewTokens)
    {
        if (maxNewTokens <= 0 || prompt.Count >= Capacity) return "";
        var tokens = _generator.Generate(prompt, maxNewTokens, logits => _argmax.Next(logits)).TakeWhile(token => !_config.IsEndOfSequence(token));
        return _tokenizer.Decode(tokens.ToArray());
    }

    public void Dispose() => _generator.Dispose();
}
