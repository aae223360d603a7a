namespace SimNpo.Unlearn.Evaluation;

/// <summary>MUSE's few-shot KnowMem prompt and the cut of the model's answer, as muse_bench metrics/knowmem.py has them.</summary>
public static class KnowMemPrompt
{
    /// <summary>"Question: q\nAnswer: a\n\n" per example, then "Question: q\nAnswer: ", trailing space included.</summary>
    public static string Build(IReadOnlyList<QuestionAnswer> examples, string question) =>
        string.Concat(examples.Select(e => $"Question: {e.Question}\nAnswer: {e.Answer}\n\n")) + $"Question: {question}\nAnswer: ";

    /// <summary>
    /// The answer ends before the first "\n\n", "\nQuestion" or "Question:" (the model starting the next example), and
    /// is trimmed (the ROUGE tokenizer ignores the whitespace anyway).
    /// </summary>
    public static string CutAnswer(string generation)
    {
        var end = generation.Length;
        foreach (var marker in new[] { "\n\n", "\nQuestion", "Question:" })
        {
            var at = generation.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0) end = Math.Min(end, at);
        }
        return generation[..end].Trim();
    }
}
