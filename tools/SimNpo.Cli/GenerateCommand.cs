using System.CommandLine;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.Generation;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Progress;

namespace SimNpo.Cli;

/// <summary>`simnpo generate`: greedy or sampled continuation of a prompt (or of BOS alone), streamed as it is produced.</summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var prompt = new Option<string?>("--prompt") { Description = "text to continue; without it generation starts from BOS alone" };
        var chatTemplate = CommonOptions.ChatTemplate();
        chatTemplate.Description = $"answer --prompt as a question in this chat template ({string.Join(", ", ChatTemplates.Names)}), stopping at "
            + "its end of turn; without it the prompt is continued as plain text";
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "stop after this many tokens", DefaultValueFactory = _ => 256 };
        var temperature = new Option<double>("--temperature") { Description = "0 for greedy decoding", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "nucleus sampling mass", DefaultValueFactory = _ => 1 };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var command = new Command("generate", "Generate text with a KV cache, stopping at EOS or the token limit")
        {
            model, prompt, chatTemplate, maxNewTokens, temperature, topP, seed, device, precision,
        };
        command.SetAction(parse =>
        {
            var limit = parse.GetRequiredValue(maxNewTokens);
            if (limit < 1) throw new UsageException("--max-new-tokens must be at least 1");
            var directory = CommonOptions.ModelFolder(parse.GetRequiredValue(model));
            var ops = Devices.Create(parse.GetRequiredValue(device));
            using var llama = ModelFiles.Load(directory, ops, CommonOptions.Precision(parse, precision, ops));
            var tokenizer = TokenizerLoader.Load(directory, llama.Config);
            var sampler = new TokenSampler(parse.GetRequiredValue(temperature), parse.GetRequiredValue(topP), parse.GetRequiredValue(seed));
            // A template places BOS (or not) and names the token that ends its turn; plain text starts from BOS.
            var encoder = parse.GetValue(chatTemplate) is { } name
                ? new ExampleEncoder(tokenizer, CommonOptions.Template(name, null, null, () => llama.Config, directory)) : null;
            List<int> promptIds = encoder is not null ? [.. encoder.EncodePrompt(parse.GetValue(prompt) ?? "")]
                : [llama.Config.BosTokenId, .. tokenizer.Encode(parse.GetValue(prompt) ?? "")];
            var bosCount = encoder is null || encoder.Template.AddsBos ? 1 : 0;
            using var generator = new Generator<float>(llama, Math.Min(promptIds.Count + limit, llama.Config.MaxSequenceLength));

            var output = parse.InvocationConfiguration.Output;
            var shown = tokenizer.Decode(promptIds.Skip(bosCount));
            output.Write(shown);
            var produced = new List<int>(promptIds.Skip(bosCount));
            using var progress = ProgressReporting.Start("generate", limit, "tokens");
            foreach (var token in generator.Generate(promptIds, limit, logits => sampler.Next(logits)))
            {
                progress.Advance();
                if (llama.Config.IsEndOfSequence(token) || token == encoder?.EndId) break;
                produced.Add(token);
                // Decoding the whole text each time keeps multi-token characters and SentencePiece spaces right.
                var text = tokenizer.Decode(produced);
                output.Write(text[Math.Min(shown.Length, text.Length)..]);
                shown = text;
            }
            output.WriteLine();
            return 0;
        });
        return command;
    }
}
