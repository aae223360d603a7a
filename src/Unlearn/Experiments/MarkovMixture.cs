using SimNpo.Model;

namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// The paper's synthetic data as the authors' code builds it (Unlearn-Simple synthetic/data_generation.py, docs/fidelity.md):
/// 10 states; a retain chain on {0,1,2}, forget chain 1 on {3,4,5}, forget chain 2 on {6,7,8}. In a chain's matrix the
/// rows of its own states put 0.8 evenly on the subset and the 0.2 leakage evenly on the other seven states; every other
/// row is uniform (the code fills it with 0.2/7 and normalises), so from outside its subset a chain returns with
/// probability 0.3. The first state is drawn from the subset-favouring initial distribution (0.8 / 0.2 as in the rows).
/// A sequence is its states as tokens 0..9, no BOS or EOS: the first state is the prompt, unscored (input seq[:-1],
/// labels seq[1:] in the code's utils.py).
/// </summary>
public static class MarkovMixture
{
    public const int States = 10;
    public const double Leakage = 0.2;

    /// <summary>Chain 0 is the retain chain; 1 and 2 are the forget chains. State 9 belongs to none (state_size // 3 = 3).</summary>
    public static readonly int[][] Subsets = [[0, 1, 2], [3, 4, 5], [6, 7, 8]];

    /// <summary>The distribution of the first state: the leakage split, as in a row of the chain's own states.</summary>
    public static double[] Initial(int chain)
    {
        var subset = Subsets[chain];
        var row = new double[States];
        for (var state = 0; state < States; state++)
            row[state] = subset.Contains(state) ? (1 - Leakage) / subset.Length : Leakage / (States - subset.Length);
        return row;
    }

    /// <summary>The chain's transition matrix, [from][to]: the leakage split from its own states, uniform from the others.</summary>
    public static double[][] Transitions(int chain) =>
        Enumerable.Range(0, States)
            .Select(from => Subsets[chain].Contains(from) ? Initial(chain) : Enumerable.Repeat(1.0 / States, States).ToArray())
            .ToArray();

    public static int[] Sample(int chain, int length, Random random)
    {
        var transitions = Transitions(chain);
        var sequence = new int[length];
        for (var t = 0; t < length; t++)
            sequence[t] = Draw(t == 0 ? Initial(chain) : transitions[sequence[t - 1]], random);
        return sequence;
    }

    private static int Draw(double[] row, Random random)
    {
        var u = random.NextDouble();
        var state = 0;
        for (var cumulative = row[0]; u >= cumulative && state < States - 1; cumulative += row[++state]) { }
        return state;
    }

    /// <summary>A chain's sequences as examples: the first state as the prompt (unscored), the rest as the scored answer.</summary>
    public static TokenizedExample[] Examples(int chain, int count, int length, Random random) =>
        Enumerable.Range(0, count).Select(_ => Sample(chain, length, random)).Select(s => new TokenizedExample(s[..1], s[1..])).ToArray();

    /// <summary>The authors' size (4 layers, width 128, 4 heads) as this engine's Llama; the vocabulary is the 10 states.</summary>
    public static LlamaConfig ModelConfig(int width = 128, int layers = 4) => new()
    {
        HiddenSize = width,
        IntermediateSize = 4 * width,
        NumHiddenLayers = layers,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 4,
        HeadDim = width / 4,
        VocabSize = States,
        NormEps = 1e-5,
        MaxPositionEmbeddings = 64,
        // Never used (no sequence carries BOS or EOS), but a config must name ids inside the vocabulary.
        BosTokenId = 0,
        EosTokenId = 0,
    };
}
