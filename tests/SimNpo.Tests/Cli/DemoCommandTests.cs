using System.Text.Json.Nodes;
using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>The README's first command, end to end, at its real (small) size.</summary>
public class DemoCommandTests
{
    [Test]
    public void DemoTrainsUnlearnsAndReportsThenReusesItsTargetModel()
    {
        using var directory = new TempDirectory();
        var first = Simnpo.Run("demo", "--out", directory.Path);
        Assert.That(first.Code, Is.EqualTo(CommandRunner.Success), first.Error);
        Assert.That(first.Output, Does.Contain("training the target model from scratch"));

        var rows = JsonNode.Parse(File.ReadAllText(directory.File("report.json")))!["rows"]!.AsArray().ToDictionary(row => row!["method"]!.GetValue<string>());
        Assert.That(rows.Keys, Is.EqualTo(new[] { "target", "ga", "npo", "simnpo" }));
        double Value(string method, string column) => rows[method]![column]!.GetValue<double>();
        // The target knows every fact (mean token probability above ~90%); every method then pushes both forget
        // columns below −2 (under ~14%), and SimNPO keeps the retain set above −0.5 (over ~60%).
        foreach (var column in new[] { "forget_short", "forget_long", "retain" }) Assert.That(Value("target", column), Is.GreaterThan(-0.1), column);
        foreach (var method in new[] { "ga", "npo", "simnpo" })
            foreach (var column in new[] { "forget_short", "forget_long" }) Assert.That(Value(method, column), Is.LessThan(-2), $"{method} {column}");
        Assert.That(Value("simnpo", "retain"), Is.GreaterThan(-0.5));
        Assert.That(File.ReadAllText(directory.File("report.md")), Does.Contain("| simnpo |"));

        var second = Simnpo.Run("demo", "--out", directory.Path);
        Assert.That(second.Output, Does.Contain("target model found"));
        Assert.That(File.ReadAllText(directory.File("report.json")), Does.Contain("\"simnpo\""));
    }
}
