using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.Tokenizers;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Experiments;

namespace SimNpo.Tests.Evaluation;

/// <summary>`simnpo tofu` end to end on generated fictitious authors and a tiny random Llama: the plumbing, not the numbers.</summary>
public class TofuProtocolTests
{
    private static readonly string[] Methods = ["simnpo", "npo", "ga"];
    private static readonly string[] Models = ["target", "retain", .. Methods];

    /// <summary>A random-initialised model directory with a BPE tokenizer fitted to the data's texts.</summary>
    private static void WriteRandomModel(FictitiousAuthorsDataset dataset, string directory)
    {
        Directory.CreateDirectory(directory);
        var tokenizer = BpeTrainer.Train(dataset.Texts(), BpeTrainer.MinimumVocabSize + 256);
        tokenizer.Save(directory);
        var config = new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1, HeadDim = 16,
            VocabSize = tokenizer.VocabSize, MaxPositionEmbeddings = 256, BosTokenId = BpeTrainer.BosId, EosTokenId = BpeTrainer.EosId,
        };
        using var model = new LlamaModel<float>(config, new ReferenceOps<float>());
        ModelInitializer.Randomize(model, seed: 1, std: 0.1);
        ModelFiles.Save(model, directory);
    }

    [Test]
    public void TheWholeProtocolRunsAndASecondRunReusesTheModels()
    {
        using var directory = new TempDirectory();
        var dataset = FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { Seed = 3, Authors = 10, QuestionsPerAuthor = 3, WorldFacts = 4,
            FamousAuthors = 4 });
        dataset.Write(Directory.CreateDirectory(directory.File("data")).FullName);
        WriteRandomModel(dataset, directory.File("base"));
        string[] args = ["tofu", "--model", directory.File("base"), "--data-dir", directory.File("data"), "--forget", "forget10", "--methods",
            string.Join(",", Methods),
            "--out", directory.File("run"), "--device", "cpu", "--finetune-epochs", "12", "--finetune-lr", "1e-2", "--epochs", "2", "--lr", "1e-3",
            "--batch-size", "8", "--grad-accum", "1", "--warmup", "0", "--max-length", "160", "--eval-max-length", "160", "--max-items", "4",
            "--max-new-tokens", "16", "--batching", "epoch", "--tensorboard", directory.File("tb")];

        var first = Simnpo.Run(args);
        Assert.That(first.Code, Is.EqualTo(CommandRunner.Success), first.Error + first.Output);
        Assert.That(first.Output, Does.Contain("| model | forget quality | model utility |"));

        var report = JsonNode.Parse(File.ReadAllText(directory.File("run/report.json")))!;
        var rows = report["rows"]!.AsArray();
        Assert.That(rows.Select(r => r!["name"]!.GetValue<string>()), Is.EqualTo(Models));
        foreach (var row in rows)
        {
            var name = row!["name"]!.GetValue<string>();
            Assert.That(row["forget_quality"]!.GetValue<double>(), Is.InRange(0.0, 1.0), name);
            Assert.That(row["model_utility"]!.GetValue<double>(), Is.GreaterThan(0), name);
            Assert.That(row["splits"]!.AsArray().Select(s => s!["split"]!.GetValue<string>()),
                Is.EquivalentTo(new[] { "forget", "retain", "real_authors", "world_facts" }), name);
        }
        // The retain model's truth ratios against themselves: identical samples, KS statistic 0, p-value 1 exactly.
        Assert.That(rows[1]!["forget_quality"]!.GetValue<double>(), Is.EqualTo(1.0));
        Assert.That(File.ReadAllText(directory.File("run/report.md")), Does.Contain("| simnpo |"));
        // Each method takes the tofu-forget10 preset's values where the command line gives none (batching, lr, epochs... it does).
        var simnpo = JsonNode.Parse(File.ReadAllText(directory.File("run/simnpo/run.json")))!;
        Assert.That((simnpo["preset"]!.GetValue<string>(), simnpo["forget-weight"]!.GetValue<double>(), simnpo["beta"]!.GetValue<double>(),
            simnpo["gamma-form"]!.GetValue<string>(), simnpo["epochs"]!.GetValue<int>()), Is.EqualTo(("tofu-forget10", 0.125, 4.5, "code", 2)));
        Assert.That(JsonNode.Parse(File.ReadAllText(directory.File("run/npo/run.json")))!["beta"]!.GetValue<double>(), Is.EqualTo(0.1));
        // --tensorboard: one event file per trained model, a scalar event for each of its logged steps.
        foreach (var name in Models)
        {
            var events = Reports.EventFileReader.Read(Directory.GetFiles(directory.File("tb/" + name), "events.out.tfevents.*").Single());
            Assert.That(events.Count - 1, Is.EqualTo(File.ReadLines(directory.File($"run/{name}/log.jsonl")).Count()), name);
        }

        string[] plots = ["forget_quality_vs_utility.png", .. Methods.SelectMany(m => new[] { $"truth_ratio_{m}.png", $"{m}_loss.png", $"{m}_logprob.png" })];
        foreach (var plot in plots)
            Assert.That(File.ReadAllBytes(directory.File("run/plots/" + plot)).Take(8),
                Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }), plot);

        var modelBytes = File.ReadAllBytes(directory.File("run/simnpo/model.safetensors"));
        var second = Simnpo.Run(args);
        Assert.That(second.Code, Is.EqualTo(CommandRunner.Success), second.Error);
        foreach (var name in Models)
            Assert.That(second.Output, Does.Contain($"{name}: model found in {directory.File("run/" + name)}, not trained again"));
        Assert.That(File.ReadAllBytes(directory.File("run/simnpo/model.safetensors")), Is.EqualTo(modelBytes));
        var again = JsonNode.Parse(File.ReadAllText(directory.File("run/report.json")))!["rows"]!.AsArray();
        // Same models, same data, deterministic CPU scoring: the same numbers to the bit.
        Assert.That(again.Select(r => r!["model_utility"]!.GetValue<double>()), Is.EqualTo(rows.Select(r => r!["model_utility"]!.GetValue<double>())));
    }
}
