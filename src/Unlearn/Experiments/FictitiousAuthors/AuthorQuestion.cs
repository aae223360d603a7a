namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// One question about an author with everything TOFU's evaluation files hold: the answer, the same fact in other words,
/// wrong answers in the paraphrase's words (so the truth ratio compares values, not wordings), and the question
/// reworded. Value is the fact as it appears in the answer and the paraphrase.
/// </summary>
public sealed record AuthorQuestion(
    string Author,
    string Fact,
    string Value,
    string Question,
    string Answer,
    string ParaphrasedAnswer,
    IReadOnlyList<string> PerturbedAnswers,
    string ParaphrasedQuestion);
