using System.Text.Json.Nodes;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Hub;

namespace SimNpo.Tests.Hub;

/// <summary>
/// TOFU and MUSE from their Hub data sets, served by a loopback Hub: the commands' defaults fetch only the files they
/// read, and evaluate exactly as on local copies of the same records.
/// </summary>
public class HubDatasetTests : LoopbackHubFixture
{
    private const string Commit = "fedcba9876543210fedcba9876543210fedcba98";

    private string model = null!;

    [SetUp]
    public void SaveModel() => model = TinyModelFiles.SaveModel(Work.File("model"));

    /// <summary>
    /// `eval tofu` without --data-dir reads locuslab/TOFU's {split}.json (JSON Lines, as on the Hub) and fetches the four
    /// perturbed splits alone; its numbers are those of the same records in a local folder of .jsonl files.
    /// </summary>
    [Test]
    public void EvalTofuDefaultsToLocuslabTofuOnTheHub()
    {
        var shared = Path.GetDirectoryName(SharedFiles.Require("data/tofu/forget01_perturbed.jsonl"))!;
        var local = Directory.CreateDirectory(Work.File("tofu")).FullName;
        var files = new Dictionary<string, byte[]> { ["README.md"] = "# TOFU"u8.ToArray() };
        foreach (var split in TofuDataFiles.AllSplits)
        {
            var lines = File.ReadLines(Path.Combine(shared, split + ".jsonl")).Take(3).ToArray();
            File.WriteAllLines(Path.Combine(local, split + ".jsonl"), lines);
            files[split + ".json"] = System.Text.Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");
        }
        // The holdout split goes with the forget set read (open-unlearning's MIA metrics); holdout05 is never asked for.
        foreach (var holdout in new[] { "holdout01", "holdout05" })
            files[holdout + ".json"] = System.Text.Encoding.UTF8.GetBytes(string.Join("\n", File.ReadLines(Path.Combine(shared, holdout + ".jsonl")).Take(3)) + "\n");
        File.WriteAllLines(Path.Combine(local, "holdout01.jsonl"), File.ReadLines(Path.Combine(shared, "holdout01.jsonl")).Take(3));
        Server.Add("datasets", HubDatasets.Tofu, Commit, files);
        // TOFU's questions need more positions than the tiny model's 32: stories260K has 512.
        using var stories = new TempDirectory();
        Stories260K.ConvertInto(stories);

        string[] Eval(string output, params string[] data) =>
            ["eval", "tofu", "--model", stories.Path, "--forget", "forget01", "--max-items", "1", "--max-new-tokens", "2", "--out", Work.File(output), .. data];
        var fromFolder = Simnpo.Run(Eval("local.json", "--data-dir", local));
        Assert.That(fromFolder.Code, Is.EqualTo(0), fromFolder.Error);
        using (new HubEnvironment(Settings()))
        {
            var fromHub = Simnpo.Run(Eval("hub.json"));
            Assert.That(fromHub.Code, Is.EqualTo(0), fromHub.Error);
            Assert.That(Utility(fromHub.Output), Is.EqualTo(Utility(fromFolder.Output)).And.Not.Empty);
        }
        // The whole summary, open-unlearning's MIA metrics over holdout01 included, is the local folder's.
        string Summary(string report) => System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Work.File(report)))!["summary"]!.ToJsonString();
        Assert.That(Summary("hub.json"), Is.EqualTo(Summary("local.json")).And.Contain("\"mia_loss\""));
        var fetched = Server.Requests.Where(r => r.StartsWith("GET /datasets/", StringComparison.Ordinal)).Select(r => r.Split('/')[^1]).Order();
        Assert.That(fetched, Is.EqualTo(new[]
            { "forget01_perturbed.json", "holdout01.json", "real_authors_perturbed.json", "retain_perturbed.json", "world_facts_perturbed.json" }));
        var snapshot = Work.File($"cache/datasets--locuslab--TOFU/snapshots/{Commit}");
        Assert.That(new FileInfo(Path.Combine(snapshot, "retain_perturbed.json")).LinkTarget, Does.StartWith("../../blobs/"));

        using (new HubEnvironment(Settings()))
        {
            var download = Simnpo.Run("download", HubDatasets.Tofu, "--repo-type", "dataset");
            Assert.That(download.Code, Is.EqualTo(0), download.Error);
            Assert.That(download.Output, Does.Contain($"{TofuDataFiles.AllSplits.Count + 2} files: the TOFU splits"));
        }
        Assert.That(Directory.GetFiles(snapshot).Select(Path.GetFileName).Order(),
            Is.EqualTo(TofuDataFiles.AllSplits.Append("holdout01").Append("holdout05").Select(split => split + ".json").Order()),
            "every split the commands read with the holdouts the revision has, and not the README");
    }

    private static string Utility(string output) => output.Split('\n').Single(line => line.StartsWith("model utility", StringComparison.Ordinal));

    /// <summary>
    /// `eval muse` without --data reads muse-bench/MUSE-News's Parquet files (verbmem, knowmem, privleak; not raw/), and
    /// gives the numbers of the same records in MUSE's released JSON layout.
    /// </summary>
    [Test]
    public void EvalMuseDefaultsToMuseNewsParquetOnTheHub()
    {
        var news = Path.GetDirectoryName(Path.GetDirectoryName(SharedFiles.Require("data/muse-news/verbmem/forget.json")))!;
        var local = Work.File("muse");
        var files = new Dictionary<string, byte[]> { ["raw/forget-00000-of-00001.parquet"] = ParquetFixtures.Strings(["text"], [["never read"]]) };
        JsonArray Records(string file, int count) => new(JsonNode.Parse(File.ReadAllText(Path.Combine(news, file)))!.AsArray().Take(count)
            .Select(node => node!.DeepClone()).ToArray());
        string Short(JsonNode? text) => text!.GetValue<string>()[..Math.Min(200, text.GetValue<string>().Length)];
        void Both(string file, string[] columns, Func<JsonNode, string?[]> row, int count)
        {
            var rows = Records(file, count).Select(node => row(node!)).ToArray();
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(local, file))!);
            File.WriteAllText(Path.Combine(local, file), new JsonArray(rows.Select(r => columns.Length == 1 ? (JsonNode)JsonValue.Create(r[0])!
                : new JsonObject(columns.Select((c, i) => KeyValuePair.Create(c, (JsonNode?)JsonValue.Create(r[i]))))).ToArray()).ToJsonString());
            files[file.Replace(".json", "-00000-of-00001.parquet", StringComparison.Ordinal)] = ParquetFixtures.Strings(columns, rows);
        }
        Both("verbmem/forget.json", ["prompt", "gt"], p => [Short(p["prompt"]), Short(p["gt"])], 2);
        foreach (var qa in new[] { "knowmem/forget_qa.json", "knowmem/retain_qa.json", "knowmem/forget_qa_icl.json", "knowmem/retain_qa_icl.json" })
            Both(qa, ["question", "answer"], p => [p["question"]!.GetValue<string>(), p["answer"]!.GetValue<string>()], 2);
        Both("privleak/forget.json", ["text"], text => [Short(text)], 3);
        Both("privleak/holdout.json", ["text"], text => [Short(text)], 3);
        Server.Add("datasets", HubDatasets.MuseNews, Commit, files);

        string[] Eval(string output, params string[] data) => ["eval", "muse", "--model", model, "--retrain-auc", "0.4772", "--verbmem-new-tokens", "2",
            "--knowmem-new-tokens", "2", "--out", Work.File(output), .. data];
        var fromFolder = Simnpo.Run(Eval("local.json", "--data", local));
        Assert.That(fromFolder.Code, Is.EqualTo(0), fromFolder.Error);
        using (new HubEnvironment(Settings()))
        {
            var fromHub = Simnpo.Run(Eval("hub.json"));
            Assert.That(fromHub.Code, Is.EqualTo(0), fromHub.Error);
        }
        var (a, b) = (JsonNode.Parse(File.ReadAllText(Work.File("local.json")))!, JsonNode.Parse(File.ReadAllText(Work.File("hub.json")))!);
        foreach (var key in new[] { "verb_mem_items", "know_mem_forget_items", "know_mem_retain_items", "min_k", "priv_leak", "not_computed" })
            Assert.That(b[key]!.ToJsonString(), Is.EqualTo(a[key]!.ToJsonString()), key);
        Assert.That(b["files"]!["verb_mem"]!.GetValue<string>(), Does.EndWith("verbmem/forget-00000-of-00001.parquet"));
        Assert.That(Server.Requests, Has.None.Contains("raw/"), "only the parts the evaluation reads are fetched");
        Assert.That(Server.Count(r => r.StartsWith("GET /cdn/", StringComparison.Ordinal)), Is.EqualTo(7));
    }
}
