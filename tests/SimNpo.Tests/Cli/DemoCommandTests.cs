using System.Text.Json.Nodes;
using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>
/// The README's first command at a tiny scale (10 authors, 3 fine-tuning epochs): every artefact appears and a second
/// run reuses what was trained. The full-size numbers are in the README, measured by running the command itself.
/// </summary>
public class DemoCommandTests
{
    [Test]
    public void DemoRunsTheTofuProtocolOnGeneratedAuthorsAndReusesItsModels()
    {
        using var directory = new TempDirectory();
        string[] args = ["demo", "--out", directory.Path, "--authors", "10", "--epochs", "3", "--device", "cpu"];
        var first = Simnpo.Run(args);
        Assert.That(first.Code, Is.EqualTo(CommandRunner.Success), first.Error);
        Assert.That(first.Output, Does.Contain("| model | forget quality | model utility |"));
        Assert.That(first.Output, Does.Contain("# Sample answers to forget questions"));

        var rows = JsonNode.Parse(File.ReadAllText(directory.File("report.json")))!["rows"]!.AsArray();
        Assert.That(rows.Select(r => r!["name"]!.GetValue<string>()), Is.EqualTo(new[] { "target", "retain", "ga", "npo", "simnpo" }));
        Assert.That(rows[1]!["forget_quality"]!.GetValue<double>(), Is.EqualTo(1.0), "the retain model against itself");
        foreach (var file in new[] { "report.md", "samples.md", "data/full.jsonl", "base/vocab.json", "plots/forget_quality_vs_utility.png",
            "plots/simnpo_logprob.png" })
            Assert.That(File.Exists(directory.File(file)), file);

        var second = Simnpo.Run(args);
        Assert.That(second.Code, Is.EqualTo(CommandRunner.Success), second.Error);
        Assert.That(second.Output, Does.Contain("target: model found"));
        Assert.That(second.Output, Does.Not.Contain("fitting a"));
    }
}
