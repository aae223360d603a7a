using System.Numerics;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>Questions as prompt ids with their answers as text: what a ROUGE-L recall of greedy answers needs.</summary>
public sealed record AnswerPrompts(ITextTokenizer Tokenizer, IReadOnlyList<IReadOnlyList<int>> Prompts, IReadOnlyList<string> Answers, int MaxNewTokens);

/// <summary>
/// The forget-set numbers a relearning curve tracks: mean ℓ (length-normalised log-prob), TOFU's forget Prob
/// (mean p̄ = exp(ℓ)) and, for text records, the ROUGE-L recall of greedy answers.
/// </summary>
public static class ForgetMetrics
{
    public const string LogProb = "forget_logprob";
    public const string Prob = "forget_prob";
    public const string RougeLRecall = "forget_rouge_l_recall";

    public static Dictionary<string, double> Measure<T>(LlamaModel<T> model, IReadOnlyList<TokenizedExample> examples, AnswerPrompts? answers, int batchSize,
        int maxLength)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var losses = AnswerLosses.Compute(model, examples, batchSize, maxLength);
        var values = new Dictionary<string, double>
        {
            [LogProb] = -losses.Average(),
            [Prob] = losses.Average(TofuMetrics.Probability),
        };
        if (answers is null) return values;
        using var decoder = new GreedyDecoder<T>(model, answers.Tokenizer, maxLength);
        values[RougeLRecall] = answers.Prompts
            .Select((prompt, i) => RougeL.Score(decoder.Complete(prompt, Math.Min(answers.MaxNewTokens, maxLength - prompt.Count)), answers.Answers[i],
                useStemmer: true).Recall)
            .Average();
        return values;
    }
}
