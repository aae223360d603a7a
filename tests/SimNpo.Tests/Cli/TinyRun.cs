using System.Text.Json;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Tests.Training;

namespace SimNpo.Tests.Cli;

/// <summary>
/// TinyTask on disk for commands run end to end: its model as a Hugging Face folder (no tokenizer: the records are
/// token ids), its forget and retain sets as JSON Lines, and a scratch folder for the runs. Needs no shared files.
/// </summary>
public sealed class TinyRun : IDisposable
{
    private readonly TempDirectory _directory = new();

    public TinyRun()
    {
        using var model = TinyTask.NewModel();
        ModelFiles.Save(model, Model);
        TinyModelFiles.WriteRecords(Forget, TinyTask.Forget);
        TinyModelFiles.WriteRecords(Retain, TinyTask.Retain);
    }

    public string Model => File("model");
    public string Forget => File("forget.jsonl");
    public string Retain => File("retain.jsonl");

    public string File(string name) => _directory.File(name);

    /// <summary>
    /// SimNPO for 2 epochs of 3 steps, a checkpoint every 2 steps (steps 4 and 6 are kept), into output. Options in
    /// extra replace these or come on top; a flag is an option without a value ("--resume").
    /// </summary>
    public string[] Unlearn(string output, params string[] extra)
    {
        var options = new List<(string Name, string? Value)>
        {
            ("--model", Model), ("--forget", Forget), ("--retain", Retain), ("--out", output), ("--epochs", "2"), ("--batch-size", "4"),
            ("--grad-accum", "1"), ("--warmup", "0"), ("--lr", "1e-2"), ("--save-every", "2"),
        };
        for (var i = 0; i < extra.Length; i++)
        {
            var value = i + 1 < extra.Length && !extra[i + 1].StartsWith("--", StringComparison.Ordinal) ? extra[++i] : null;
            var name = value is null ? extra[i] : extra[i - 1];
            options.RemoveAll(option => option.Name == name);
            options.Add((name, value));
        }
        return ["unlearn", .. options.SelectMany(option => option.Value is null ? new[] { option.Name } : [option.Name, option.Value])];
    }

    public static byte[] Weights(string directory) => System.IO.File.ReadAllBytes(Path.Combine(directory, "model.safetensors"));

    public void Dispose() => _directory.Dispose();
}
