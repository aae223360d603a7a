using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SimNpo.Cli;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Cli;

/// <summary>
/// Every command's failure paths through the real executable: the exit code the README promises (1 a failure, 2 bad
/// usage), an error line naming the problem, and never a .NET stack trace. The cases of issue 12 that once ended in
/// exit 134 with a trace are here with the rest.
/// </summary>
public partial class FailurePathTests
{
    /// <summary>A line of a .NET stack trace: "   at Namespace.Type.Method(...)".</summary>
    [GeneratedRegex(@"^\s*at \S+\(", RegexOptions.Multiline)]
    private static partial Regex StackFrame();

    [Test]
    public void EveryCommandFailsWithItsExitCodeAndNoStackTrace()
    {
        using var run = new TinyRun();
        var broken = BrokenModels(run);
        using var held = RunLock.Acquire(run.File("held"), _ => { });
        var nowhere = run.File("nowhere");
        var cases = new (string[] Args, int Code, string Message)[]
        {
            (["frobnicate"], CommandRunner.Usage, "Unrecognized command or argument 'frobnicate'"),
            (["demo", "--authors", "0"], CommandRunner.Usage, "--authors must be at least 2"),
            (["markov", "--scale", "0"], CommandRunner.Usage, "--scale must be in (0, 1]"),
            (["info", "--model", nowhere], CommandRunner.Failure, $"{nowhere}/config.json: file not found"),
            (["info", "--model", broken["architectures"]], CommandRunner.Failure, "'architectures' must be a list of class names, got [5]"),
            (["info", "--model", broken["eos_float"]], CommandRunner.Failure, "'eos_token_id' must be an integer, got 2.5"),
            (["info", "--model", broken["eos_huge"]], CommandRunner.Failure, "'eos_token_id' must be an integer, got 99999999999"),
            (["convert", "llama2c", "--checkpoint", run.Forget, "--tokenizer", run.Forget, "--out", run.File("converted")], CommandRunner.Failure,
                "forget.jsonl: not a llama2.c checkpoint"),
            (["grad", "--model", run.Model, "--data", nowhere, "--out", run.File("grad.safetensors")], CommandRunner.Failure, $"{nowhere}: file not found"),
            (["generate", "--model", broken["empty_tokenizer"], "--prompt", "hi"], CommandRunner.Failure,
                "tokenizer.model: not a SentencePiece BPE model (the file is empty)"),
            (["finetune", "--data", run.Forget, "--out", run.File("ft")], CommandRunner.Usage, "--model is required"),
            (["finetune", "--model", run.Model, "--data", run.Forget, "--out", run.Model], CommandRunner.Usage, "the input --model"),
            (run.Unlearn(run.File("held")), CommandRunner.Failure, $"is in use by process {Environment.ProcessId}"),
            (run.Unlearn(run.File("diverged"), "--lr", "1e3", "--epochs", "10"), CommandRunner.Failure, "training stopped before updating the model"),
            (["unlearn", "--model", broken["eos_list"], "--forget", run.Forget, "--out", run.File("u")], CommandRunner.Failure,
                "'eos_token_id' must be an integer, got 1E+20"),
            (["eval", "tofu", "--model", run.Model, "--data-dir", run.File("tofu"), "--out", Path.Combine(run.Forget, "report.json")],
                CommandRunner.Failure, "report.json: cannot be written"),
            (["eval", "muse", "--model", run.Model, "--data", nowhere, "--out", run.File("muse.json")], CommandRunner.Failure, "model: no tokenizer found"),
            (["relearn", "--model", nowhere, "--data", run.Forget, "--out", run.File("relearned")], CommandRunner.Failure, "model directory not found"),
            (["tofu", "--model", run.Model, "--data-dir", nowhere, "--out", run.File("tofu"), "--max-items", "1"], CommandRunner.Failure,
                "model: no tokenizer found"),
            (["profile", "--steps", "0"], CommandRunner.Usage, "--steps must be at least 1"),
            (["bench", "--suite", "nope"], CommandRunner.Usage, "'nope' not recognized"),
        };
        foreach (var (args, code, message) in cases)
        {
            var (exit, output) = SimnpoProcess.Run(args);
            var command = "simnpo " + string.Join(' ', args);
            Assert.That(exit, Is.EqualTo(code), $"{command}:\n{output}");
            Assert.That(output, Does.Contain("error: ").And.Contain(message), command);
            Assert.That(StackFrame().IsMatch(output), Is.False, $"{command} printed a stack trace:\n{output}");
        }
    }

    /// <summary>The step is named once, with the checkpoint the run can be taken up from.</summary>
    [Test]
    public void ADivergedRunNamesItsStepOnce()
    {
        using var run = new TinyRun();
        var (exit, output) = SimnpoProcess.Run(run.Unlearn(run.File("diverged"), "--lr", "1e3", "--epochs", "10"));
        Assert.That(exit, Is.EqualTo(CommandRunner.Failure), output);
        var error = output.Split('\n').Single(line => line.StartsWith("error: "));
        Assert.That(error, Does.Match(@"^error: step (\d+): the (loss|gradient norm) is (NaN|∞|-∞); training stopped before updating the model; "
            + @"the last good checkpoint is .*step-\d{6}$"));
        Assert.That(Regex.Matches(error, @"step \d").Count, Is.EqualTo(1), error);
    }

    /// <summary>Copies of the tiny model with one defect each, keyed by the defect.</summary>
    private static Dictionary<string, string> BrokenModels(TinyRun run)
    {
        var models = new Dictionary<string, string>();
        void Make(string name, Action<JsonObject> editConfig, Action<string>? editFolder = null)
        {
            var folder = run.File(name);
            Directory.CreateDirectory(folder);
            foreach (var file in Directory.GetFiles(run.Model)) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
            editConfig(config);
            File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
            editFolder?.Invoke(folder);
            models[name] = folder;
        }
        Make("architectures", c => c["architectures"] = new JsonArray(5));
        Make("eos_float", c => c["eos_token_id"] = 2.5);
        Make("eos_huge", c => c["eos_token_id"] = 99999999999);
        Make("eos_list", c => c["eos_token_id"] = new JsonArray(1e20));
        Make("empty_tokenizer", _ => { }, folder => File.WriteAllBytes(Path.Combine(folder, "tokenizer.model"), []));
        return models;
    }
}
