using SimNpo.Model;

namespace SimNpo.Unlearn.Data;

/// <summary>
/// Whether an example can be trained or scored as it stands. Sequences are cut to --max-length, so a prompt that fills
/// it leaves no answer token to score (SimNPO then divides by zero several steps in; NPO and GA silently train on
/// nothing); and a sequence longer than the model's max_position_embeddings is outside what the model computes.
/// </summary>
public static class ExampleLength
{
    /// <summary>What is wrong with the example's length, in words; null when it fits.</summary>
    public static string? Problem(TokenizedExample example, int maxLength, LlamaConfig config)
    {
        var (prompt, answer) = (example.PromptIds.Count, example.AnswerIds.Count);
        if (prompt >= maxLength)
            return $"the prompt alone has {prompt} tokens, which leaves none of the answer's {answer} to score within --max-length {maxLength}";
        var length = Math.Min(prompt + answer, maxLength);
        if (length > config.MaxSequenceLength)
        {
            var cut = length < prompt + answer ? $", cut to --max-length {maxLength}" : "";
            return $"{length} tokens (prompt {prompt} + answer {answer}{cut}) are more than the model's {config.MaxSequenceLengthSource}";
        }
        return null;
    }
}
