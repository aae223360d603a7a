namespace SimNpo.Unlearn.Data;

/// <summary>
/// How a question and its answer become token ids: the prompt is PromptFormat with {question} replaced, the answer text
/// is AnswerPrefix followed by the answer, BOS goes first when AddsBos, and the answer ends with EndToken (null: the
/// tokenizer's EOS). PromptFormat and AnswerPrefix have no setters, so a `with` cannot skip the check; the named
/// templates are in <see cref="ChatTemplates"/>.
/// </summary>
public sealed record PromptTemplate
{
    public const string QuestionSlot = "{question}";

    /// <summary>The Llama-2 chat template the TOFU models were fine-tuned with (<see cref="ChatTemplates.Llama2"/>).</summary>
    public static PromptTemplate Llama2Chat => ChatTemplates.Llama2;

    public PromptTemplate(string promptFormat, string answerPrefix)
    {
        if (!promptFormat.Contains(QuestionSlot, StringComparison.Ordinal))
            throw new ArgumentException($"the prompt format '{promptFormat}' must contain {QuestionSlot}", nameof(promptFormat));
        PromptFormat = promptFormat;
        AnswerPrefix = answerPrefix;
    }

    /// <summary>The --chat-template name this came from ("custom" when only a format was given).</summary>
    public string Name { get; init; } = "custom";

    public string PromptFormat { get; }

    public string AnswerPrefix { get; }

    /// <summary>Whether BOS is the first token (Llama 2 and 3, Mistral, Gemma: yes; Qwen2's ChatML and Phi: no).</summary>
    public bool AddsBos { get; init; } = true;

    /// <summary>The token that ends an answer, as its text (&lt;|eot_id|&gt;, &lt;|im_end|&gt;); null: the tokenizer's EOS.</summary>
    public string? EndToken { get; init; }

    public string Prompt(string question) => PromptFormat.Replace(QuestionSlot, question, StringComparison.Ordinal);

    /// <summary>The whole text of an example: prompt, answer prefix, answer (BOS and the end token are ids, added by the encoder).</summary>
    public string FullText(string question, string answer) => Prompt(question) + AnswerPrefix + answer;

    /// <summary>This template with its text replaced where a format or prefix is given, its BOS and end kept.</summary>
    public PromptTemplate WithText(string? promptFormat, string? answerPrefix) =>
        promptFormat is null && answerPrefix is null ? this
            : new PromptTemplate(promptFormat ?? PromptFormat, answerPrefix ?? AnswerPrefix) { Name = Name, AddsBos = AddsBos, EndToken = EndToken };
}
