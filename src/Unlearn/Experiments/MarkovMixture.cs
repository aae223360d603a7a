using SimNpo.Model;

namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// The paper's synthetic data (SPEC.md): 10 states; a retain chain on {0,1,2}, forget chain 1 on {3,4,5}, forget chain 2
/// on {6,7,8}. Every row of a chain's transition matrix, and its initial distribution, puts 0.8 spread evenly on the
/// chain's own states and the 0.2 "leakage" spread evenly on the other seven. A sequence is BOS then its states as
/// tokens 0..9 (BOS is token 10, EOS 11), all states scored.
/// </summary>
public static class MarkovMixture
{
    public const int States = 10;
    public const int Bos = 10;
    public const int Eos = 11;
    public const int Vocabulary = 12;
    public const double Leakage = 0.2;

    /// <summary>Chain 0 is the retain chain; 1 and 2 are the forget chains.</summary>
    public static readonly int[][] Subsets = [[0, 1, 2], [3, 4, 5], [6, 7, 8]];

    /// <summary>The next-state distribution of a chain: the same in every row and at the start, as SPEC.md defines it.</summary>
    public static double[] Row(int chain)
    {
        var subset = Subsets[chain];
        var row = new double[States];
        for (var state = 0; state < States; state++)
            row[state] = subset.Contains(state) ? (1 - Leakage) / subset.Length : Leakage / (States - subset.Length);
        return row;
    }

    public static int[] Sample(int chain, int length, Random random)
    {
        var row = Row(chain);
        var sequence = new int[length];
        for (var t = 0; t < length; t++)
        {
            var u = random.NextDouble();
            var state = 0;
            for (var cumulative = row[0]; u >= cumulative && state < States - 1; cumulative += row[++state]) { }
            sequence[t] = state;
        }
        return sequence;
    }

    /// <summary>A chain's sequences as examples: BOS as the prompt, the states as the scored answer.</summary>
    public static TokenizedExample[] Examples(int chain, int count, int length, Random random) =>
        Enumerable.Range(0, count).Select(_ => new TokenizedExample([Bos], Sample(chain, length, random))).ToArray();

    public static LlamaConfig ModelConfig(int width = 128, int layers = 4) => new()
    {
        HiddenSize = width,
        IntermediateSize = 4 * width,
        NumHiddenLayers = layers,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 4,
        HeadDim = width / 4,
        VocabSize = Vocabulary,
        RmsNormEps = 1e-5,
        MaxPositionEmbeddings = 64,
        BosTokenId = Bos,
        EosTokenId = Eos,
    };

    /// <summary>
    /// Mean over every scored position of a chain's sequences of KL(true row ‖ model's next-token distribution), the
    /// model's distribution taken over the 12 tokens (BOS and EOS get probability 0 in the true row).
    /// </summary>
    public static double MeanKl(LlamaModel<float> model, IReadOnlyList<TokenizedExample> examples, int chain)
    {
        var row = Row(chain);
        var total = 0.0;
        var positions = 0;
        foreach (var chunk in examples.Chunk(64))
        {
            var logits = model.ForwardLogits(TokenBatch.FromExamples(chunk)).ToArray();
            for (var offset = 0; offset < logits.Length; offset += Vocabulary)
            {
                var rowLogits = logits.AsSpan(offset, Vocabulary);
                var max = double.NegativeInfinity;
                foreach (var logit in rowLogits) max = Math.Max(max, logit);
                var sum = 0.0;
                foreach (var logit in rowLogits) sum += Math.Exp(logit - max);
                var logSumExp = max + Math.Log(sum);
                for (var state = 0; state < States; state++) total += row[state] * (Math.Log(row[state]) - (rowLogits[state] - logSumExp));
                positions++;
            }
        }
        return total / positions;
    }
}
