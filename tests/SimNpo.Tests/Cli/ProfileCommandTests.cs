using System.Text.Json.Nodes;
using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>`profile` end to end at a tiny batch, on the reference device, with the quick peaks.</summary>
public class ProfileCommandTests
{
    private static readonly string[] Tiny = ["--batch-size", "2", "--seq-len", "16", "--steps", "2", "--device", "reference", "--quick-peaks"];

    [Test]
    public void PrintsTheTableAndWritesTheJson()
    {
        using var directory = new TempDirectory();
        var file = directory.File("profile.json");
        var (code, output, error) = Simnpo.Run(["profile", "--shape", "stories260K", .. Tiny, "--json", file]);
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        Assert.That(output, Does.Match(@"MatMulBackward\s+35\s"), "7 projections in each of 5 blocks");
        Assert.That(output, Does.Match(@"step [\d.]+ ms, [\d,]+ tokens/s, model [\d.]+ GFLOP/s = [\d.]+% of peak"));
        Assert.That(error, Does.Contain("step 2/2"), "progress goes to stderr");

        var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        Assert.That(json["shape"]!["name"]!.GetValue<string>(), Is.EqualTo("stories260K"));
        Assert.That(json["shape"]!["tokens"]!.GetValue<int>(), Is.EqualTo(32));
        Assert.That(json["device"]!.GetValue<string>(), Is.EqualTo("reference-single"));
        Assert.That(DateTimeOffset.TryParse(json["date"]!.GetValue<string>(), out _));
        Assert.That(json["machine"]!["cores"]!.GetValue<int>(), Is.EqualTo(Environment.ProcessorCount), "the machine as bench records it");
        Assert.That(json["losses"]!.AsArray(), Has.Count.EqualTo(2));
        foreach (var field in new[] { "seconds", "tokens_per_second", "model_flops", "model_gflops", "percent_of_peak" })
            Assert.That(json["step"]![field]!.GetValue<double>(), Is.Positive, field);
        foreach (var field in new[] { "gflops", "gb_per_second" })
            Assert.That(json["peaks"]![field]!.GetValue<double>(), Is.Positive, field);
        var ops = json["ops"]!.AsArray().Select(op => op!.AsObject()).ToList();
        Assert.That(ops.Select(op => op["op"]!.GetValue<string>()), Does.Contain("MatMul").And.Contain("AttentionBackward").And.Contain("AdamW"));
        foreach (var op in ops)
        {
            foreach (var field in new[] { "calls", "seconds", "share", "bytes", "achieved", "percent_of_peak" })
                Assert.That(op[field]!.GetValue<double>(), Is.Positive, $"{op["op"]} {field}");
            Assert.That(op["bound"]!.GetValue<string>(), Is.AnyOf("compute", "memory"));
        }
        Assert.That(ops.Select(op => op["seconds"]!.GetValue<double>()), Is.Ordered.Descending);
    }

    [Test]
    public void ProfilesAModelDirectory()
    {
        using var directory = new TempDirectory();
        var (code, output, error) = Simnpo.Run(["profile", "--model", Stories260K.ConvertInto(directory), .. Tiny]);
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        Assert.That(output, Does.StartWith($"{Path.GetFileName(directory.Path)}: batch 2 x 16, 260,032 parameters"));
    }

    [Test]
    public void RefusesAModelAndAShapeTogether()
    {
        var (code, _, error) = Simnpo.Run(["profile", "--model", ".", "--shape", "15M", .. Tiny]);
        Assert.That(code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(error, Does.Contain("--model or --shape, not both"));
    }

    [Test]
    public void RefusesAnUnknownShape() =>
        Assert.That(Simnpo.Run(["profile", "--shape", "13B"]).Code, Is.EqualTo(CommandRunner.Usage));
}
