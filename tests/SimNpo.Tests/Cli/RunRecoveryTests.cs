using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>
/// What a killed or damaged run leaves behind: checkpoint temporaries are removed when a run starts or resumes, a
/// damaged newest checkpoint gives way to the older one, and eval refuses a bad --out or --retain-results before it
/// evaluates anything.
/// </summary>
public class RunRecoveryTests
{
    [Test]
    public void CheckpointTemporariesAreRemovedOnStartAndResume()
    {
        using var run = new TinyRun();
        var output = run.File("run");
        string Leftover(string name)
        {
            var path = Path.Combine(output, "checkpoints", name);
            Directory.CreateDirectory(path);
            File.WriteAllText(Path.Combine(path, "model.safetensors"), "half");
            return path;
        }

        var atStart = Leftover(".step-000002.tmp-0123abcd");
        var started = Simnpo.Run(run.Unlearn(output));
        Assert.That(started.Code, Is.EqualTo(CommandRunner.Success), started.Error);
        Assert.That(started.Output, Does.Contain($"removed {atStart}, left by a run stopped while writing a checkpoint"));

        var atResume = Leftover(".step-000007.tmp-4567ef01");
        var resumed = Simnpo.Run(run.Unlearn(output, "--resume"));
        Assert.That(resumed.Code, Is.EqualTo(CommandRunner.Success), resumed.Error);
        Assert.That(resumed.Output, Does.Contain($"removed {atResume}"));
        Assert.That(Directory.GetDirectories(Path.Combine(output, "checkpoints")).Select(Path.GetFileName),
            Is.EquivalentTo(new[] { "step-000004", "step-000006" }));
    }

    /// <summary>Step 6's weights cut short: the run resumes from step 4, says so, and ends as the uninterrupted run, bit for bit.</summary>
    [Test]
    public void ADamagedNewestCheckpointFallsBackToTheOlderOne()
    {
        using var run = new TinyRun();
        var (whole, damaged) = (run.File("whole"), run.File("damaged"));
        Assert.That(Simnpo.Run(run.Unlearn(whole)).Code, Is.EqualTo(CommandRunner.Success));
        Assert.That(Simnpo.Run(run.Unlearn(damaged)).Code, Is.EqualTo(CommandRunner.Success));
        var newest = Path.Combine(damaged, "checkpoints", "step-000006");
        var weights = Path.Combine(newest, "model.safetensors");
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..1000]);

        var resumed = Simnpo.Run(run.Unlearn(damaged, "--resume"));
        Assert.That(resumed.Code, Is.EqualTo(CommandRunner.Success), resumed.Error);
        var older = Path.Combine(damaged, "checkpoints", "step-000004");
        Assert.That(resumed.Output,
            Does.Contain($"warning: the newest checkpoint {newest} is damaged ({weights}:").And.Contain($"resuming from the older {older} instead"));
        Assert.That(TinyRun.Weights(damaged), Is.EqualTo(TinyRun.Weights(whole)));
        Assert.That(TinyRun.Weights(newest), Is.EqualTo(TinyRun.Weights(Path.Combine(whole, "checkpoints", "step-000006"))), "step 6 written again");
    }

    [Test]
    public void EvalChecksItsOutputsBeforeEvaluating()
    {
        using var run = new TinyRun();
        var underAFile = Path.Combine(run.Forget, "report.json");
        var otherSet = run.File("retain.json");
        const string item = """{"answer_loss": 1, "base_loss": 1, "perturbed_losses": [2], "rouge_l_recall": 0, "question": "q", "generation": "g", "answer": "a"}""";
        var splits = string.Join(", ", new[] { "retain", "real_authors", "world_facts", "forget" }.Select(name => $$"""{"name": "{{name}}", "items": [{{item}}]}"""));
        File.WriteAllText(otherSet, $$"""{"config": {"forget_set": "forget05"}, "splits": [{{splits}}]}""");
        string[] evalTofu = ["eval", "tofu", "--model", run.Model, "--data-dir", run.File("tofu")];
        var cases = new (string[] Args, string Error)[]
        {
            ([.. evalTofu, "--out", underAFile], $"error: {underAFile}: cannot be written"),
            ([.. evalTofu, "--out", run.Model], $"error: {run.Model}: is a folder; give the path of the file to write"),
            ([.. evalTofu, "--forget", "forget01", "--retain-results", otherSet, "--out", run.File("report.json")],
                $"error: {otherSet}: the retain log is for forget set 'forget05' (1 items), the evaluation in {run.File("tofu")} for 'forget01'"),
            (["eval", "muse", "--model", run.Model, "--data", run.File(""), "--out", underAFile], $"error: {underAFile}: cannot be written"),
        };
        foreach (var (args, error) in cases)
        {
            var refused = Simnpo.Run(args);
            Assert.That(refused.Code, Is.EqualTo(CommandRunner.Failure), string.Join(' ', args));
            Assert.That(refused.Error, Does.StartWith(error), string.Join(' ', args));
            Assert.That(refused.Output, Is.Empty, "nothing evaluated");
        }
        Assert.That(Directory.EnumerateFiles(run.File("")), Has.None.Contains(".check-"), "the check leaves nothing behind");
    }
}
