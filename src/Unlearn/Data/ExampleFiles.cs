using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Unlearn.Data;

/// <summary>A data file's examples for a given model, each checked against the lengths they will be used at.</summary>
public sealed record ExampleFile(IReadOnlyList<DataRecord> Records, IReadOnlyList<TokenizedExample> Examples, int Skipped);

/// <summary>A data file turned into token ids for a given model.</summary>
public static class ExampleFiles
{
    /// <summary>
    /// Question/answer records are formatted with the template (default: Llama-2 chat) and tokenized with the model
    /// directory's tokenizer, which is only looked for when such records are present; pre-tokenized records are taken as
    /// they are. Every example must fit the model whole (nothing is cut).
    /// </summary>
    public static IReadOnlyList<TokenizedExample> Load(string dataPath, string modelDirectory, LlamaConfig config, PromptTemplate? template = null) =>
        Read(dataPath, config,
            records => Encode(records, () => new ExampleEncoder(TokenizerLoader.Load(modelDirectory, config), template ?? PromptTemplate.Llama2Chat)),
            int.MaxValue, skipLong: false).Examples;

    /// <summary>Pre-tokenized records as they are; any question/answer record needs the encoder, made only then.</summary>
    public static IReadOnlyList<TokenizedExample> Encode(IReadOnlyList<DataRecord> records, Func<ExampleEncoder> encoder) =>
        records.All(record => record is PretokenizedRecord)
            ? records.Select(record => ((PretokenizedRecord)record).Example).ToArray()
            : encoder().Encode(records);

    /// <summary>
    /// Reads and encodes every record, then checks each against <see cref="ExampleLength"/> before anything uses them:
    /// a record that does not fit is refused with its file, line and lengths, or with skipLong dropped and counted.
    /// </summary>
    public static ExampleFile Read(string path, LlamaConfig config, Func<IReadOnlyList<DataRecord>, IReadOnlyList<TokenizedExample>> encode, int maxLength,
        bool skipLong)
    {
        var numbered = JsonlRecords.ReadNumbered(path, config.VocabSize);
        var records = numbered.Select(pair => pair.Record).ToArray();
        var examples = encode(records);
        var kept = new List<int>(examples.Count);
        for (var i = 0; i < examples.Count; i++)
        {
            if (ExampleLength.Problem(examples[i], maxLength, config) is not { } problem) kept.Add(i);
            else if (!skipLong)
                throw new BadInputException(path, maxLength == int.MaxValue ? problem : $"{problem}; pass --skip-long to drop such records", numbered[i].Line);
        }
        if (kept.Count == 0) throw new BadInputException(path, $"all {examples.Count} records are too long for this run (--skip-long dropped every one)");
        return new ExampleFile(kept.Select(i => records[i]).ToArray(), kept.Select(i => examples[i]).ToArray(), examples.Count - kept.Count);
    }
}
