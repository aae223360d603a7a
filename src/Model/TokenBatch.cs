namespace SimNpo.Model;

/// <summary>One training or scoring example as token ids: the prompt (BOS included when wanted) and the scored answer (EOS included when wanted).</summary>
public sealed record TokenizedExample(IReadOnlyList<int> PromptIds, IReadOnlyList<int> AnswerIds)
{
    public int Length => PromptIds.Count + AnswerIds.Count;
}

/// <summary>
/// A right-padded batch [Batch, SequenceLength]. Position t predicts token t+1: Targets[b, t] is that next token when
/// it is a scored answer token, and -1 where nothing is scored (prompt, padding, last position).
/// </summary>
public sealed class TokenBatch
{
    public const int PaddingToken = 0;
    public const int Ignored = -1;

    public TokenBatch(int batch, int sequenceLength, int[] tokens, int[] targets, int[] lengths)
    {
        if (tokens.Length != batch * sequenceLength || targets.Length != tokens.Length || lengths.Length != batch)
            throw new ArgumentException("tokens and targets must be [batch, sequenceLength] and lengths [batch]");
        Batch = batch;
        SequenceLength = sequenceLength;
        Tokens = tokens;
        Targets = targets;
        Lengths = lengths;
    }

    public int Batch { get; }
    public int SequenceLength { get; }
    public int[] Tokens { get; }
    public int[] Targets { get; }
    public int[] Lengths { get; }
    public int Rows => Batch * SequenceLength;

    /// <summary>|y| per sequence: how many of its positions are scored.</summary>
    public int[] ScoredCounts()
    {
        var counts = new int[Batch];
        for (var b = 0; b < Batch; b++)
            for (var t = 0; t < SequenceLength; t++)
                if (Targets[b * SequenceLength + t] >= 0) counts[b]++;
        return counts;
    }

    /// <summary>
    /// Packs examples right-padded to the longest one. An example longer than maxLength is cut to its first maxLength
    /// tokens (the answer's tail is then not scored), as Hugging Face truncation does.
    /// </summary>
    public static TokenBatch FromExamples(IReadOnlyList<TokenizedExample> examples, int maxLength = int.MaxValue)
    {
        if (examples.Count == 0) throw new ArgumentException("a batch needs at least one example");
        var lengths = examples.Select(e => Math.Min(e.Length, maxLength)).ToArray();
        var sequenceLength = lengths.Max();
        var tokens = new int[examples.Count * sequenceLength];
        var targets = new int[tokens.Length];
        Array.Fill(targets, Ignored);
        for (var b = 0; b < examples.Count; b++)
        {
            var example = examples[b];
            var row = b * sequenceLength;
            for (var t = 0; t < lengths[b]; t++)
                tokens[row + t] = t < example.PromptIds.Count ? example.PromptIds[t] : example.AnswerIds[t - example.PromptIds.Count];
            for (var t = Math.Max(example.PromptIds.Count, 1); t < lengths[b]; t++)
                targets[row + t - 1] = tokens[row + t];
        }
        return new TokenBatch(examples.Count, sequenceLength, tokens, targets, lengths);
    }
}
