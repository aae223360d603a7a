namespace SimNpo.Unlearn.Experiments;

/// <summary>A general-knowledge question (world facts, famous authors): a short answer and wrong ones of the same kind.</summary>
public sealed record GeneralQuestion(string Question, string Answer, IReadOnlyList<string> PerturbedAnswers);
