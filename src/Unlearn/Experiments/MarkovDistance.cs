using SimNpo.Model;

namespace SimNpo.Unlearn.Experiments;

/// <summary>Mean per-token KL on one test set: to the retrained model (the study's metric) and to the chain's true rows.</summary>
public sealed record MarkovKl(double Retrained, double TrueRows);

/// <summary>
/// One test set of one chain, ready to score models against: the retrained model's next-state distributions at every scored
/// position are computed once (that model is fixed). KL(p ‖ model) is summed over the states and averaged over the scored
/// tokens of the set, as the authors' evaluate_with_transitions does with and without retrain_model (evaluate_utils.py).
/// </summary>
public sealed class MarkovDistance
{
    private const int Chunk = 128;
    private readonly TokenizedExample[] _examples;
    private readonly double[][] _retrainedLogProbs;
    private readonly double[][] _trueRows;

    public MarkovDistance(IReadOnlyList<TokenizedExample> examples, int chain, LlamaModel<float> retrained)
    {
        _examples = [.. examples];
        _retrainedLogProbs = LogProbRows(retrained, _examples);
        var transitions = MarkovMixture.Transitions(chain);
        // The true next-state row at a scored position is the row of the state just read (the Markov property).
        _trueRows = _examples.SelectMany(e => e.PromptIds.Concat(e.AnswerIds).SkipLast(1)).Select(state => transitions[state]).ToArray();
    }

    public int Tokens => _trueRows.Length;

    public MarkovKl Measure(LlamaModel<float> model)
    {
        var logProbs = LogProbRows(model, _examples);
        var (retrained, trueRows) = (0.0, 0.0);
        for (var row = 0; row < logProbs.Length; row++)
            for (var state = 0; state < MarkovMixture.States; state++)
            {
                var q = logProbs[row][state];
                var r = _retrainedLogProbs[row][state];
                retrained += Math.Exp(r) * (r - q);
                var p = _trueRows[row][state];
                trueRows += p * (Math.Log(p) - q);
            }
        return new MarkovKl(retrained / logProbs.Length, trueRows / logProbs.Length);
    }

    /// <summary>The model's log next-state distribution at every scored position, in sequence then position order.</summary>
    public static double[][] LogProbRows(LlamaModel<float> model, IReadOnlyList<TokenizedExample> examples)
    {
        var vocabulary = model.Config.VocabSize;
        var rows = new List<double[]>();
        foreach (var chunk in examples.Chunk(Chunk))
        {
            var flat = model.ForwardLogProbs(TokenBatch.FromExamples(chunk)).ToArray();
            for (var offset = 0; offset < flat.Length; offset += vocabulary)
                rows.Add(flat.AsSpan(offset, vocabulary).ToArray().Select(v => (double)v).ToArray());
        }
        return [.. rows];
    }
}
