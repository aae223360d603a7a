using System.Text.Json.Nodes;
using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>`simnpo markov` at a tiny scale: every output appears with a curve of 51 points per method and variant.</summary>
public class MarkovCommandTests
{
    [Test]
    public void ATinyRunWritesCurvesPlotsAndASummary()
    {
        using var directory = new TempDirectory();
        var run = Simnpo.Run("markov", "--scale", "0.01", "--out", directory.Path);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        var curves = JsonNode.Parse(File.ReadAllText(directory.File("markov.json")))!["curves"]!.AsArray();
        Assert.That(curves.Select(c => $"{c!["variant"]} {c["method"]}"), Is.EqualTo(new[] { "long npo", "long simnpo", "short npo", "short simnpo" }));
        foreach (var curve in curves)
        {
            var points = curve!["points"]!.AsArray();
            Assert.That(points, Has.Count.EqualTo(51));
            // Unlearning raises the KL to the forget chains' true rows.
            Assert.That(points[^1]!["forget1"]!.GetValue<double>(), Is.GreaterThan(points[0]!["forget1"]!.GetValue<double>()));
        }
        foreach (var file in new[] { "markov.md", "markov-long.png", "markov-short.png" }) Assert.That(File.Exists(directory.File(file)), file);
        Assert.That(run.Output, Does.Contain("the paper's claim"));
    }
}
