using System.Text.Json;
using SimNpo.Model;
using SimNpo.Tests.Training;

namespace SimNpo.Tests.Cli;

/// <summary>
/// Files for the commands to read: TinyTask's model saved as a Hugging Face directory with a tokenizer of one token per
/// letter (vocab.json + merges.txt: ids 0-25 are a-z, 26-31 A-F, so every id of the 32 decodes), and data files.
/// </summary>
public static class TinyModelFiles
{
    /// <param name="edit">Changes the weights before they are saved.</param>
    public static string SaveModel(string directory, int seed = 0, Action<LlamaModel<float>>? edit = null)
    {
        using (var model = TinyTask.NewModel(seed))
        {
            edit?.Invoke(model);
            ModelFiles.Save(model, directory);
        }
        var letters = Enumerable.Range('a', 26).Concat(Enumerable.Range('A', TinyTask.Config.VocabSize - 26)).Select(c => ((char)c).ToString());
        File.WriteAllText(Path.Combine(directory, "vocab.json"),
            JsonSerializer.Serialize(letters.Select((letter, id) => (letter, id)).ToDictionary(p => p.letter, p => p.id)));
        File.WriteAllLines(Path.Combine(directory, "merges.txt"), ["#version: 0.2"]);
        return directory;
    }

    public static void WriteRecords(string path, IEnumerable<TokenizedExample> examples) =>
        File.WriteAllLines(path, examples.Select(e => JsonSerializer.Serialize(new { prompt_ids = e.PromptIds, answer_ids = e.AnswerIds })));
}
