using SimNpo.Model;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Unlearn.Data;

/// <summary>A data file turned into token ids for a given model.</summary>
public static class ExampleFiles
{
    /// <summary>
    /// Question/answer records are formatted with the template (default: Llama-2 chat) and tokenized with the model
    /// directory's tokenizer, which is only looked for when such records are present; pre-tokenized records are taken as they are.
    /// </summary>
    public static IReadOnlyList<TokenizedExample> Load(string dataPath, string modelDirectory, LlamaConfig config, PromptTemplate? template = null)
    {
        var records = JsonlRecords.Read(dataPath, config.VocabSize);
        if (records.All(record => record is PretokenizedRecord))
            return records.Select(record => ((PretokenizedRecord)record).Example).ToArray();
        var tokenizer = TokenizerLoader.Load(modelDirectory, config);
        return new ExampleEncoder(tokenizer, template ?? PromptTemplate.Llama2Chat).Encode(records);
    }
}
