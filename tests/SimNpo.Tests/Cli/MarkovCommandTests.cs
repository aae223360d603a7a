using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Unlearn.Experiments;

namespace SimNpo.Tests.Cli;

/// <summary>
/// `simnpo markov` at the smallest scale (10 sequences a chain, so 16 forget sequences: 4 iterations of 4): every pretraining
/// variant and method runs and writes its outputs, and a second run with the same seed gives the same numbers. Before the
/// fidelity change there were two variants and two methods, so the first test fails on that code.
/// </summary>
public class MarkovCommandTests
{
    private const double Scale = 0.002;
    private TempDirectory? _first;
    private (int Code, string Output, string Error) _run;

    [OneTimeSetUp]
    public void RunOnce()
    {
        _first = new TempDirectory();
        _run = Simnpo.Run("markov", "--scale", Scale.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", _first.Path);
    }

    [OneTimeTearDown]
    public void Remove() => _first?.Dispose();

    private static JsonArray Curves(string directory) => JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "markov.json")))!["curves"]!.AsArray();

    [Test]
    public void EveryVariantAndMethodRunsAndWritesItsOutputs()
    {
        Assert.That(_run.Code, Is.EqualTo(CommandRunner.Success), _run.Error);
        var curves = Curves(_first!.Path);
        Assert.That(curves.Select(c => $"{c!["variant"]} {c["method"]}"),
            Is.EqualTo(MarkovExperiment.Variants.SelectMany(v => MarkovExperiment.Methods.Select(m => $"{v.Name} {m.Name}"))));
        foreach (var curve in curves)
        {
            Assert.That(curve!["points"]!.AsArray(), Has.Count.EqualTo(5), "iteration 0, then one point per iteration");
            // Unlearning pushes the model's forget-chain predictions away from where they were: the distance to the true rows grows.
            double TrueRows(string when) => curve[when]!["forget1"]!["true_rows"]!.GetValue<double>();
            Assert.That(TrueRows("after"), Is.GreaterThan(TrueRows("before")));
        }
        var pictures = MarkovExperiment.Variants.SelectMany(v => new[] { "", "-rt", "-true-rows" }.Select(s => $"markov-{v.Name}{s}.png"));
        foreach (var file in pictures.Append("markov.md")) Assert.That(File.Exists(_first.File(file)), file);
        Assert.That(_run.Output, Does.Contain("on this metric"));
    }

    [Test]
    public void TheSameSeedGivesTheSameNumbers()
    {
        using var second = new TempDirectory();
        var run = Simnpo.Run("markov", "--scale", Scale.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", second.Path);
        Assert.That(run.Code, Is.EqualTo(CommandRunner.Success), run.Error);
        Assert.That(Curves(second.Path).ToJsonString(), Is.EqualTo(Curves(_first!.Path).ToJsonString()));
    }
}
