namespace SimNpo.Unlearn.Evaluation;

/// <summary>MUSE's few-shot KnowMem prompt and the cut of the model's answer.</summary>
public static class KnowMemPrompt
{
    /// <summary>
    /// "Question: q\nAnswer: a\n\n" per example, then "Question: q\nAnswer:". The final "Answer:" has no trailing space:
    /// a SentencePiece tokenizer would make that space a token of its own, one the model rarely sees before a word.
    /// </summary>
    public static string Build(IReadOnlyList<QuestionAnswer> examples, string question) =>
        string.Concat(examples.Select(e => $"Question: {e.Question}\nAnswer: {e.Answer}\n\n")) + $"Question: {question}\nAnswer:";

    /// <summary>The answer ends at the first blank line or at "Question" (the model starting the next example).</summary>
    public static string CutAnswer(string generation)
    {
        var end = generation.Length;
        foreach (var marker in new[] { "\n\n", "Question" })
        {
            var at = generation.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0) end = Math.Min(end, at);
        }
        return generation[..end].Trim();
    }
}
