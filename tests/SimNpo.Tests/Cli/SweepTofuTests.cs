using System.Globalization;
using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Cli;

/// <summary>
/// `simnpo sweep --eval-tofu`: each point's model evaluated on TOFU against a retain report, forget quality and model
/// utility in the table and on the plot. stories260K and three items per TOFU split keep it small; the numbers are
/// meaningless, their plumbing from each point's report to the table is not.
/// </summary>
public class SweepTofuTests
{
    [Test]
    public void EachPointIsEvaluatedAndPlottedByForgetQualityAndUtility()
    {
        using var work = new TempDirectory();
        using var converted = new TempDirectory();
        Stories260K.ConvertInto(converted);
        var model = converted.Path;
        var tofu = Path.GetDirectoryName(SharedFiles.Require("data/tofu/forget01_perturbed.jsonl"))!;
        var data = Path.Combine(work.Path, "tofu");
        Directory.CreateDirectory(data);
        foreach (var split in TofuSplit.All("forget01"))
            File.WriteAllLines(Path.Combine(data, split.FileName), File.ReadLines(Path.Combine(tofu, split.FileName)).Take(3));
        File.WriteAllLines(Path.Combine(work.Path, "forget.jsonl"), File.ReadLines(Path.Combine(tofu, "forget01.jsonl")).Take(3));
        File.WriteAllLines(Path.Combine(work.Path, "retain.jsonl"), File.ReadLines(Path.Combine(tofu, "retain99.jsonl")).Take(3));
        // The untouched model stands in for the retain model: its report is the reference of forget quality.
        var retain = Path.Combine(work.Path, "retain", "report.json");
        var evalRetain = Simnpo.Run("eval", "tofu", "--model", model, "--data-dir", data, "--forget", "forget01", "--max-new-tokens", "4", "--out", retain);
        Assert.That(evalRetain.Code, Is.EqualTo(CommandRunner.Success), evalRetain.Error);

        var output = Path.Combine(work.Path, "sweep");
        var sweep = Simnpo.Run("sweep", "--grid", "beta=2.5,4.5", "--out", output, "--eval-tofu", "forget01", "--retain-results", retain, "--data-dir", data,
            "--quiet", "--", "unlearn", "--model", model, "--forget", Path.Combine(work.Path, "forget.jsonl"), "--retain", Path.Combine(work.Path, "retain.jsonl"),
            "--epochs", "1", "--batch-size", "3", "--grad-accum", "1", "--warmup", "0", "--lr", "1e-3");
        Assert.That(sweep.Code, Is.EqualTo(CommandRunner.Success), sweep.Output + sweep.Error);
        Assert.That(sweep.Output, Does.Contain("beta=2.5: eval tofu (forget01)").And.Contain("beta=4.5: eval tofu (forget01)"));

        var csv = File.ReadAllLines(Path.Combine(output, "sweep.csv"));
        var header = csv[0].Split(',');
        foreach (var line in csv[1..])
        {
            var row = line.Split(',');
            var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(output, row[0], "eval", "report.json")))!["summary"]!;
            foreach (var key in new[] { "forget_quality", "model_utility" })
            {
                // The table prints 6 significant digits: within half a unit of the sixth.
                var expected = summary[key]!.GetValue<double>();
                var printed = double.Parse(row[Array.IndexOf(header, key)], CultureInfo.InvariantCulture);
                Assert.That(printed, Is.EqualTo(expected).Within(5e-6 * Math.Abs(expected)), $"{row[0]} {key}");
            }
        }
        Assert.That(File.ReadAllText(Path.Combine(output, "sweep.svg")), Does.Contain("model utility").And.Contain("log10 forget quality"));

        // Run again: points and their evaluations are done, nothing is evaluated twice.
        var again = Simnpo.Run("sweep", "--grid", "beta=2.5,4.5", "--out", output, "--eval-tofu", "forget01", "--retain-results", retain, "--data-dir", data,
            "--quiet", "--", "unlearn", "--model", model, "--forget", Path.Combine(work.Path, "forget.jsonl"), "--retain", Path.Combine(work.Path, "retain.jsonl"),
            "--epochs", "1", "--batch-size", "3", "--grad-accum", "1", "--warmup", "0", "--lr", "1e-3");
        Assert.That(again.Code, Is.EqualTo(CommandRunner.Success), again.Error);
        Assert.That(again.Output, Does.Not.Contain("eval tofu (forget01)"));
    }
}
