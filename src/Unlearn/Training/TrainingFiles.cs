using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Unlearn.Data;

namespace SimNpo.Unlearn.Training;

/// <summary>A file a run needs that was not given (a tokenizer for question/answer records, the refusals of IdkPO): a usage error.</summary>
public sealed class MissingTrainingInputException(string message) : Exception(message);

/// <summary>
/// The data files of a run (JSON Lines, or plain text cut into chunks: <see cref="TextCorpus"/>): Forget (read in order and joined: the forget set, or the training set of fine-tuning), an
/// optional Retain file and, for a method that needs them, the refusal answers. Read turns them into
/// <see cref="TrainingData"/> for a model, the one path from records to a trainer's data.
/// </summary>
public sealed record TrainingFiles(IReadOnlyList<string> Forget, string? Retain = null, string? Refusals = null)
{
    /// <summary>An encoder made on first use, so that pre-tokenized data needs no tokenizer (and a missing one is an error only then).</summary>
    public static Func<ExampleEncoder> LazyEncoder(string? tokenizerSource, LlamaConfig config, PromptTemplate template)
    {
        ExampleEncoder? encoder = null;
        return () => encoder ??= new ExampleEncoder(TokenizerLoader.Load(
            tokenizerSource ?? throw new MissingTrainingInputException("question/answer records need a tokenizer: give --model or --tokenizer"), config),
            template);
    }

    /// <summary>
    /// Encodes every file's records (question/answer records with the encoder, asked for only for them) and checks
    /// each against the lengths the run trains before the first step, not when its batch comes; with skip-long the
    /// records too long are dropped and counted through say.
    /// </summary>
    public TrainingData Read(LlamaConfig config, Func<ExampleEncoder> encoder, TrainingSettings settings, Action<string> say)
    {
        IReadOnlyList<TokenizedExample> Encode(IReadOnlyList<DataRecord> records) => ExampleFiles.Encode(records, encoder);
        ExampleFile ReadFile(string path)
        {
            if (TextCorpus.IsTextFile(path)) return TextFile(path);
            var file = ExampleFiles.Read(path, config, Encode, settings.MaxLength, settings.SkipLong);
            if (file.Skipped > 0)
                say($"--skip-long: dropped {file.Skipped} of {file.Skipped + file.Examples.Count} records of {path}, too long for --max-length "
                    + $"{settings.MaxLength} or the model");
            return file;
        }
        // A .txt corpus (MUSE's raw/forget.txt) becomes chunks of --max-length tokens (MUSE: 2048), or of the model's context if shorter.
        ExampleFile TextFile(string path)
        {
            var chunkLength = Math.Min(settings.MaxLength, config.MaxSequenceLength);
            var chunks = TextCorpus.Read(path, encoder().Tokenizer, chunkLength);
            say($"{path}: {chunks.Count} chunks of {chunkLength} tokens (BOS included)");
            return new ExampleFile(chunks.Select(chunk => (DataRecord)new PretokenizedRecord(chunk)).ToArray(), chunks, 0);
        }
        var forget = Forget.Select(ReadFile).ToArray();
        var retain = Retain is null ? [] : ReadFile(Retain).Examples;
        IReadOnlyList<TokenizedExample>? refusals = null;
        var method = settings.TrainingMethod;
        if (method.NeedsRefusals)
        {
            var answers = RefusalAnswers.Read(Refusals
                ?? throw new MissingTrainingInputException($"{method.Name} needs --refusals FILE (one \"I don't know\" answer per line)"));
            refusals = Encode(RefusalAnswers.Pair([.. forget.SelectMany(f => f.Records)], answers, settings.Seed));
        }
        return new TrainingData([.. forget.SelectMany(f => f.Examples)], retain, refusals);
    }
}
