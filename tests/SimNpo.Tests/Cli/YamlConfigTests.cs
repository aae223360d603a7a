using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Model.IO;

namespace SimNpo.Tests.Cli;

/// <summary>--config in YAML: the same settings as its JSON twin, and a bad file named with its line.</summary>
public class YamlConfigTests
{
    private const string Yaml = """
        # the options of a tiny SimNPO run, as its JSON twin below
        method: simnpo
        beta: 4.5
        gamma: 0
        lr: 1e-2
        epochs: 1
        batch-size: 4
        grad-accum: 1
        warmup: "0"
        schedule: constant
        skip-long: false
        chat-template: ~
        prompt-format: '{question} ->'
        """;

    private const string Json = """
        {"method": "simnpo", "beta": 4.5, "gamma": 0, "lr": 1e-2, "epochs": 1, "batch-size": 4, "grad-accum": 1, "warmup": "0",
         "schedule": "constant", "skip-long": false, "chat-template": null, "prompt-format": "{question} ->"}
        """;

    [Test]
    public void AYamlFileReadsAsItsJsonTwin()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(directory.File("run.yaml"), Yaml);
        File.WriteAllText(directory.File("run.json"), Json);
        var (yaml, json) = (YamlConfig.ReadObject(directory.File("run.yaml")), JsonFile.ReadObject(directory.File("run.json")));
        Assert.That(JsonNode.DeepEquals(yaml, json), Is.True, $"{yaml.ToJsonString()}\n{json.ToJsonString()}");
        Assert.That(yaml["epochs"]!.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Number));
        Assert.That(yaml["warmup"]!.GetValue<string>(), Is.EqualTo("0")); // quoted: a string
    }

    [Test]
    public void UnlearnResolvesTheSameSettingsFromYamlAndJson()
    {
        using var run = new TinyRun();
        // The tiny model's records are token ids: the prompt format is not used, only recorded in run.json.
        File.WriteAllText(run.File("run.yaml"), Yaml);
        File.WriteAllText(run.File("run.json"), Json);
        string RunJson(string config, string output)
        {
            var result = Simnpo.Run("unlearn", "--model", run.Model, "--forget", run.Forget, "--retain", run.Retain, "--out", run.File(output),
                "--config", run.File(config), "--quiet");
            Assert.That(result.Code, Is.EqualTo(CommandRunner.Success), result.Error);
            return File.ReadAllText(Path.Combine(run.File(output), "run.json"));
        }
        var (fromYaml, fromJson) = (RunJson("run.yaml", "yaml"), RunJson("run.json", "json"));
        Assert.That(fromYaml, Does.Contain("\"beta\": 4.5").And.Contain("{question} -\\u003E").And.Contain("\"lr\": 0.01")
            .And.Contain("\"schedule\": \"constant\""));
        Assert.That(fromYaml, Is.EqualTo(fromJson));
    }

    [Test]
    public void BadYamlIsRefusedNamingFileAndLine()
    {
        using var run = new TinyRun();
        File.WriteAllText(run.File("bad.yaml"), "method: simnpo\nbeta: 4.5\n  lr: [1e-5\n");
        var bad = Simnpo.Run(run.Unlearn(run.File("out"), "--config", run.File("bad.yaml")));
        Assert.That(bad.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(bad.Error, Does.StartWith($"error: {run.File("bad.yaml")}, line 3: not valid YAML (column "));

        File.WriteAllText(run.File("list.yml"), "- beta\n- lr\n");
        var notMapping = Simnpo.Run(run.Unlearn(run.File("out"), "--config", run.File("list.yml")));
        Assert.That(notMapping.Error, Is.EqualTo($"error: {run.File("list.yml")}, line 1: must be a YAML mapping of option names to values\n"));

        File.WriteAllText(run.File("unknown.yaml"), "betta: 2\n");
        var unknown = Simnpo.Run(run.Unlearn(run.File("out"), "--config", run.File("unknown.yaml")));
        Assert.That(unknown.Error, Does.Contain("'betta' is not an option of unlearn"));
    }
}
