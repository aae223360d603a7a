using System.Text.Json.Nodes;
using SimNpo.Unlearn.Evaluation.Official;

namespace SimNpo.Tests.Evaluation;

/// <summary>The shared collection of open-unlearning metric entries (CONTRACT.md section C): order, summary, writers.</summary>
public class OpenUnlearningMetricsTests
{
    [Test]
    public void KeepsOrderSummarisesAndWritesOpenUnlearningsLayout()
    {
        var metrics = new OpenUnlearningMetrics();
        metrics.AddPerItem("forget_Q_A_Prob", 0.25, [new JsonObject { ["prob"] = 0.5, ["avg_loss"] = 0.693 }, new JsonObject { ["prob"] = 0.0, ["avg_loss"] = 30.0 }]);
        metrics.Add("mia_loss", new JsonObject { ["forget"] = new JsonObject(), ["holdout"] = new JsonObject(), ["auc"] = 0.75, ["agg_value"] = 0.75 });
        metrics.AddValue("forget_quality", null);
        Assert.That(metrics.Select(m => m.Key), Is.EqualTo(new[] { "forget_Q_A_Prob", "mia_loss", "forget_quality" }));
        Assert.That(metrics.Summary().ToJsonString(), Is.EqualTo("""{"forget_Q_A_Prob":0.25,"mia_loss":0.75,"forget_quality":null}"""));
        Assert.Throws<ArgumentException>(() => metrics.AddValue("mia_loss", 1));
        Assert.Throws<ArgumentException>(() => metrics.Add("no_value", new JsonObject { ["value_by_index"] = new JsonObject() }));

        var extra = new OpenUnlearningMetrics();
        extra.AddValue("privleak", -99.5);
        metrics.AddAll(extra);
        using var folder = new TempDirectory();
        metrics.WriteEval(folder.File("TOFU_EVAL.json"));
        metrics.WriteSummary(folder.File("TOFU_SUMMARY.json"));
        var eval = JsonNode.Parse(File.ReadAllText(folder.File("TOFU_EVAL.json")))!;
        Assert.That(eval["forget_Q_A_Prob"]!["value_by_index"]!["1"]!["avg_loss"]!.GetValue<double>(), Is.EqualTo(30.0));
        Assert.That(eval["privleak"]!["agg_value"]!.GetValue<double>(), Is.EqualTo(-99.5));
        Assert.That(File.ReadAllText(folder.File("TOFU_SUMMARY.json")), Does.StartWith("{\n    \"forget_Q_A_Prob\": 0.25,"));
        Assert.That(Directory.GetFiles(folder.Path), Has.Length.EqualTo(2), "no temporary file left behind");
    }
}
