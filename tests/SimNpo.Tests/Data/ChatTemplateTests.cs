using SimNpo.Cli;
using SimNpo.Model;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Data;

namespace SimNpo.Tests.Data;

/// <summary>The template a model gets by default, "none", and the option's refusal of an unknown name.</summary>
public class ChatTemplateTests
{
    private static LlamaConfig Config(string architecture) => LlamaConfig.Shaped(8, 16, 1, 1, 1, 8, 1000, 64) with { Architecture = architecture };

    [TestCase("LlamaForCausalLM", false, "llama2")]
    [TestCase("LlamaForCausalLM", true, "llama3")]
    [TestCase("MistralForCausalLM", false, "zephyr")]
    [TestCase("Qwen2ForCausalLM", false, "chatml")]
    [TestCase("PhiForCausalLM", false, "phi")]
    [TestCase("GemmaForCausalLM", false, "gemma")]
    public void TheDefaultFollowsTheArchitecture(string architecture, bool hasBeginOfText, string expected) =>
        Assert.That(ChatTemplates.Default(architecture, token => hasBeginOfText && token == "<|begin_of_text|>").Name, Is.EqualTo(expected));

    /// <summary>
    /// A Llama model is told Llama 3 by its tokenizer: the fixture's tokenizer.json has &lt;|begin_of_text|&gt;, Mistral's
    /// tokenizer.model does not.
    /// </summary>
    [TestCase("llama3", "llama3")]
    [TestCase("mistral", "llama2")]
    public void ALlamaDefaultReadsTheTokenizer(string tokenizer, string expected)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Tokenizers", tokenizer);
        Assert.That(ChatTemplates.Resolve(null, Config("LlamaForCausalLM"), directory).Name, Is.EqualTo(expected));
        Assert.That(ChatTemplates.Resolve(null, Config("LlamaForCausalLM"), tokenizerDirectory: null).Name, Is.EqualTo("llama2"));
    }

    [TestCase("Qwen2ForCausalLM", false)]
    [TestCase("GemmaForCausalLM", true)]
    public void NoneKeepsTheFamilysBos(string architecture, bool addsBos)
    {
        var none = ChatTemplates.Resolve("none", Config(architecture), null);
        Assert.That((none.Name, none.PromptFormat, none.AnswerPrefix, none.AddsBos, none.EndToken),
            Is.EqualTo(("none", "{question}", "", addsBos, (string?)null)));
    }

    [Test]
    public void ANamedTemplateWinsOverTheDefaultAndAFormatReplacesOnlyItsText()
    {
        var template = ChatTemplates.Resolve("chatml", Config("LlamaForCausalLM"), null).WithText("Q: {question}\n", null);
        Assert.That((template.Name, template.PromptFormat, template.AnswerPrefix, template.AddsBos, template.EndToken),
            Is.EqualTo(("chatml", "Q: {question}\n", "", false, "<|im_end|>")));
    }

    [Test]
    public void EveryTemplateHasAQuestionSlotAndAUniqueName()
    {
        Assert.That(ChatTemplates.Names, Is.EqualTo(new[] { "llama2", "llama3", "zephyr", "chatml", "phi", "gemma", "none" }));
        Assert.That(ChatTemplates.All.Select(t => t.PromptFormat), Has.All.Contains(PromptTemplate.QuestionSlot));
    }

    /// <summary>An unknown name is a usage error (exit 2) listing the names, before any file is read.</summary>
    [TestCase("unlearn", "--forget")]
    [TestCase("grad", "--data")]
    public void AnUnknownTemplateIsAUsageErrorListingTheNames(string command, string dataOption)
    {
        var (code, _, error) = Simnpo.Run(command, "--model", "/nonexistent/model", dataOption, "/nonexistent/data.jsonl", "--out", "/nonexistent/out",
            "--chat-template", "alpaca");
        Assert.That(code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(error, Does.Contain("alpaca").And.Contain("llama2").And.Contain("chatml").And.Contain("gemma").And.Contain("none"));
    }
}
