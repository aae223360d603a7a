using SimNpo.Model;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Unlearn.Data;

/// <summary>
/// The named chat templates of --chat-template, one entry each: a new template is one more entry in <see cref="All"/>.
/// Each is the single-turn form of the family's official template with no system prompt. Sources: locuslab/tofu
/// config/model_config.yaml (commit bdc209e) for TOFU's Llama-2 and Phi formats, and locuslab/open-unlearning
/// configs/model/*.yaml (commit d3d7cf9) for the tags of the others (Llama-3.2-1B-Instruct, zephyr-7b-beta,
/// Qwen2.5-1.5B-Instruct, gemma-7b-it). open-unlearning also puts a system prompt ("You are a helpful assistant.")
/// before the Llama 3, Zephyr and Qwen turns; --prompt-format can add one.
/// </summary>
public static class ChatTemplates
{
    /// <summary>
    /// TOFU's Llama-2 format: question_start_tag "[INST] ", question_end_tag " [/INST]", answer_tag "" (tofu's and
    /// open-unlearning's Llama-2-7b-chat-hf.yaml), so the answer follows "]" directly: "[/INST]The" is ']' 'The' (1576),
    /// not ']' '▁The' (450). BOS first, EOS last, as TOFU's data module adds them.
    /// </summary>
    public static PromptTemplate Llama2 { get; } = new("[INST] {question} [/INST]", "") { Name = "llama2" };

    /// <summary>Llama 3's header tags; the turn ends with &lt;|eot_id|&gt;, which Llama 3 Instruct's generation config stops on.</summary>
    public static PromptTemplate Llama3 { get; } =
        new("<|start_header_id|>user<|end_header_id|>\n\n{question}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", "")
            { Name = "llama3", EndToken = "<|eot_id|>" };

    /// <summary>Zephyr's (a Mistral): each turn ends with EOS (&lt;/s&gt;), the answer's too.</summary>
    public static PromptTemplate Zephyr { get; } = new("<|user|>\n{question}</s>\n<|assistant|>\n", "") { Name = "zephyr" };

    /// <summary>Qwen2's ChatML: no BOS (Qwen's tokenizer adds none); the answer ends with &lt;|im_end|&gt;.</summary>
    public static PromptTemplate ChatMl { get; } =
        new("<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n", "") { Name = "chatml", AddsBos = false, EndToken = "<|im_end|>" };

    /// <summary>
    /// TOFU's Phi-1.5 format: question_start_tag "Question: ", question_end_tag "\n", answer_tag "Answer: " (tofu's
    /// model_config.yaml, phi), so "Answer: " is scored with the answer; no BOS (Phi's tokenizer adds none), EOS
    /// (&lt;|endoftext|&gt;) last as TOFU's data module appends it.
    /// </summary>
    public static PromptTemplate Phi { get; } = new("Question: {question}\n", "Answer: ") { Name = "phi", AddsBos = false };

    /// <summary>Gemma's turns; BOS first (open-unlearning's gemma-7b-it user_start_tag begins with &lt;bos&gt;), &lt;end_of_turn&gt; last.</summary>
    public static PromptTemplate Gemma { get; } =
        new("<start_of_turn>user\n{question}<end_of_turn>\n<start_of_turn>model\n", "") { Name = "gemma", EndToken = "<end_of_turn>" };

    /// <summary>No template: question and answer joined as they are; BOS and EOS as the model's default template places them.</summary>
    public static PromptTemplate None { get; } = new("{question}", "") { Name = "none" };

    public static IReadOnlyList<PromptTemplate> All { get; } = [Llama2, Llama3, Zephyr, ChatMl, Phi, Gemma, None];

    public static IReadOnlyList<string> Names { get; } = All.Select(template => template.Name).ToArray();

    public static PromptTemplate? Find(string name) => All.FirstOrDefault(template => template.Name == name);

    /// <summary>The marker of a Llama 3 tokenizer, which tells a Llama 3 model from a Llama 2 one (both LlamaForCausalLM).</summary>
    public const string Llama3BeginOfText = "<|begin_of_text|>";

    /// <summary>The template a model family was trained with, from config.json's architecture (and, for Llama, its tokenizer).</summary>
    public static PromptTemplate Default(string architecture, Func<string, bool> tokenizerHas) => architecture switch
    {
        "LlamaForCausalLM" => tokenizerHas(Llama3BeginOfText) ? Llama3 : Llama2,
        "MistralForCausalLM" => Zephyr,
        "Qwen2ForCausalLM" => ChatMl,
        "PhiForCausalLM" => Phi,
        "GemmaForCausalLM" => Gemma,
        _ => Llama2,
    };

    /// <summary>
    /// The named template, or the model's default when name is null; "none" takes its BOS from the default. Only a
    /// Llama model's default needs the tokenizer, which is read then from tokenizerDirectory (none there: Llama 2).
    /// </summary>
    public static PromptTemplate Resolve(string? name, LlamaConfig config, string? tokenizerDirectory)
    {
        var named = name is null ? null : Find(name) ?? throw new ArgumentException($"unknown chat template '{name}' (known: {string.Join(", ", Names)})");
        if (named is not null && named.Name != None.Name) return named;
        var model = Default(config.Architecture, token => HasToken(tokenizerDirectory, config, token));
        return named is null ? model : None with { AddsBos = model.AddsBos };
    }

    private static bool HasToken(string? tokenizerDirectory, LlamaConfig config, string token) =>
        tokenizerDirectory is not null && TokenizerLoader.HasTokenizer(tokenizerDirectory)
        && TokenizerLoader.Load(tokenizerDirectory, config).TokenId(token) is not null;
}
