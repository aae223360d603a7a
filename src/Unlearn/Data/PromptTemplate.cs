namespace SimNpo.Unlearn.Data;

/// <summary>
/// How a question and its answer become text: the prompt is PromptFormat with {question} replaced, and the answer text
/// is AnswerPrefix followed by the answer. The properties have no setters, so a `with` cannot skip the check.
/// </summary>
public sealed record PromptTemplate
{
    public const string QuestionSlot = "{question}";

    /// <summary>
    /// The Llama-2 chat template that the TOFU models were fine-tuned with: question_start_tag "[INST] ", question_end_tag
    /// " [/INST]" and an empty answer_tag (locuslab/tofu and OPTML-Group/Unlearn-Simple config/model_config.yaml, llama2-7b),
    /// so the answer follows "]" directly: "[/INST]The" is ']' 'The' (1576), not ']' '▁The' (450).
    /// </summary>
    public static PromptTemplate Llama2Chat { get; } = new("[INST] {question} [/INST]", "");

    public PromptTemplate(string promptFormat, string answerPrefix)
    {
        if (!promptFormat.Contains(QuestionSlot, StringComparison.Ordinal))
            throw new ArgumentException($"the prompt format '{promptFormat}' must contain {QuestionSlot}", nameof(promptFormat));
        PromptFormat = promptFormat;
        AnswerPrefix = answerPrefix;
    }

    public string PromptFormat { get; }

    public string AnswerPrefix { get; }

    public string Prompt(string question) => PromptFormat.Replace(QuestionSlot, question, StringComparison.Ordinal);

    /// <summary>The whole text of an example: prompt, answer prefix, answer.</summary>
    public string FullText(string question, string answer) => Prompt(question) + AnswerPrefix + answer;
}
