using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Tests.Cli;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// Logs that cannot be aggregated: each refusal names the file and the field, exits 1, and writes nothing. The broken
/// logs are open-unlearning's forget01 log (40 items) with one thing changed.
/// </summary>
public class BadTofuLogsTests
{
    private readonly TempDirectory _work = new();

    /// <summary>Read once the first test needs it (a missing ../shared ignores, or under CI fails, that test).</summary>
    private JsonObject Original => field ??= JsonNode.Parse(File.ReadAllText(
        SharedFiles.Require("data/reference-logs/open-unlearning/tofu_Llama-2-7b-chat-hf_full/evals_forget01/TOFU_EVAL.json")))!.AsObject();

    [OneTimeTearDown]
    public void Clean() => _work.Dispose();

    /// <summary>Writes the log as changed (and then its text as changed), aggregates it and returns the error; asserts exit 1 and no output.</summary>
    private string Refusal(string name, Action<JsonObject> change, Func<string, string>? text = null, params string[] extra)
    {
        var log = Original.DeepClone().AsObject();
        change(log);
        var path = _work.File($"{name}.json");
        File.WriteAllText(path, (text ?? (t => t))(log.ToJsonString()));
        var output = Path.Combine(_work.Path, name, "report.json");
        var run = Simnpo.Run(["eval", "tofu", "--from-logs", path, "--out", output, .. extra]);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Failure), run.Output);
        Assert.That(run.Error, Does.StartWith("error: ").And.Contain(path));
        Assert.That(Directory.Exists(Path.GetDirectoryName(output)) ? Directory.GetFiles(Path.GetDirectoryName(output)!) : [], Is.Empty);
        return run.Error;
    }

    private static JsonObject ByIndex(JsonObject log, string metric) => log[metric]!["value_by_index"]!.AsObject();

    [Test]
    public void UnknownLayout() =>
        Assert.That(Refusal("unknown", log => log.Clear(), t => """{"eval_log.json": {}, "rows": [1, 2]}"""),
            Does.Contain("unknown layout").And.Contain("its keys: eval_log.json, rows"));

    [Test]
    public void ListsOfDifferentLengths() =>
        Assert.That(Refusal("shorter", log => ByIndex(log, "forget_Q_A_PERT_Prob").Remove("39")),
            Does.Contain("forget_Q_A_PERT_Prob: has 39 items where forget_Q_A_Prob has 40"));

    [Test]
    public void ListsOfDifferentIndices()
    {
        var error = Refusal("renamed", log =>
        {
            var items = ByIndex(log, "retain_Q_A_ROUGE");
            var item = items["7"]!;
            items.Remove("7");
            items["400"] = item;
        });
        Assert.That(error, Does.Contain("retain_Q_A_ROUGE: has no item '7', which retain_Q_A_Prob has"));
    }

    [Test]
    public void PerturbedListsOfDifferentLengths() =>
        Assert.That(Refusal("ragged", log =>
            {
                var item = ByIndex(log, "wf_Q_A_PERT_Prob")["3"]!;
                item["prob"]!.AsArray().RemoveAt(0);
                item["avg_loss"]!.AsArray().RemoveAt(0);
            }),
            Does.Contain("wf_Q_A_PERT_Prob item '3': has 2 perturbed answers where item '0' has 3"));

    /// <summary>Python's json.dump writes NaN bare; the error still names the value.</summary>
    [Test]
    public void NaNValue() =>
        Assert.That(Refusal("nan", log => ByIndex(log, "forget_Q_A_PARA_Prob")["5"]!["avg_loss"] = 12345.678,
                t => t.Replace("12345.678", "NaN")),
            Does.Contain("forget_Q_A_PARA_Prob.value_by_index.5.avg_loss: is NaN"));

    [Test]
    public void MissingMetric() =>
        Assert.That(Refusal("missing", log => log.Remove("ra_Q_A_ROUGE")), Does.Contain("ra_Q_A_ROUGE: missing"));

    /// <summary>The retain log of forget05 for the forget01 log: both files, both counts.</summary>
    [Test]
    public void RetainLogOfAnotherSplit()
    {
        var retain = SharedFiles.Require("data/reference-logs/open-unlearning/tofu_Llama-2-7b-chat-hf_retain95");
        var error = Refusal("other-split", _ => { }, null, "--retain-results", retain);
        Assert.That(error, Does.Contain("the retain log's forget split has 200 items (forget05), the evaluation in").And.Contain("has 40 (forget01)"));
    }
}
