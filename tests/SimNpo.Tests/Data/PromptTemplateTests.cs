using SimNpo.Unlearn.Data;

namespace SimNpo.Tests.Data;

public class PromptTemplateTests
{
    [Test]
    public void Llama2ChatIsTheTofuTemplate()
    {
        // question_start_tag "[INST] ", question_end_tag " [/INST]", answer_tag "" (locuslab/tofu config/model_config.yaml).
        var template = PromptTemplate.Llama2Chat;
        Assert.That(template.Prompt("Who?"), Is.EqualTo("[INST] Who? [/INST]"));
        Assert.That(template.FullText("Who?", "Me."), Is.EqualTo("[INST] Who? [/INST]Me."));
    }

    [Test]
    public void QuestionTextIsInsertedVerbatim()
    {
        var template = new PromptTemplate("Q: {question}\n", "A:");
        Assert.That(template.FullText("what is {question}?", "x"), Is.EqualTo("Q: what is {question}?\nA:x"));
    }

    [Test]
    public void RefusesAFormatWithoutTheQuestion()
    {
        var error = Assert.Throws<ArgumentException>(() => new PromptTemplate("[INST] {prompt} [/INST]", " "))!;
        Assert.That(error.Message, Does.Contain("'[INST] {prompt} [/INST]' must contain {question}"));
    }
}
