using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>
/// The training commands never write over their input: an --out that is the model folder, lies inside it or holds it
/// (however spelled: relative, through a link) is refused with exit 2 naming both, and the model stays as it was. A
/// non-empty folder that holds no run of simnpo is refused unless --overwrite.
/// </summary>
public class OutputFolderTests
{
    [Test]
    public void AnOutputOverlappingTheModelIsRefusedAndTheModelKept()
    {
        using var run = new TinyRun();
        var weights = TinyRun.Weights(run.Model);
        var config = File.ReadAllText(run.File("model/config.json"));
        Directory.CreateSymbolicLink(run.File("link"), run.Model);
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, run.Model);
        var cases = new (string[] Args, string Out)[]
        {
            (run.Unlearn(run.Model), run.Model),
            (run.Unlearn(relative + "/"), relative + "/"),
            (run.Unlearn(run.File("link")), run.File("link")),
            (run.Unlearn(run.File("model/unlearned")), run.File("model/unlearned")),
            (run.Unlearn(run.File("")), run.File("")),
            (["finetune", "--model", run.File("link"), "--data", run.Forget, "--out", run.Model, "--epochs", "1"], run.Model),
            (["relearn", "--model", run.Model, "--data", run.Forget, "--steps", "1", "--out", run.File("link/relearned")], run.File("link/relearned")),
        };
        foreach (var (args, output) in cases)
        {
            var refused = Simnpo.Run(args);
            Assert.That(refused.Code, Is.EqualTo(CommandRunner.Usage), $"{string.Join(' ', args)}: {refused.Output}{refused.Error}");
            Assert.That(refused.Error,
                Does.Contain($"--out {Path.GetFullPath(output)}").And.Contain("the input --model").And.Contain("choose another output folder"));
            Assert.That(refused.Output, Does.Not.Contain("parameters"), "refused before the model is loaded");
        }
        Assert.That(TinyRun.Weights(run.Model), Is.EqualTo(weights));
        Assert.That(File.ReadAllText(run.File("model/config.json")), Is.EqualTo(config));
        Assert.That(Directory.EnumerateFileSystemEntries(run.Model).Select(Path.GetFileName), Is.EquivalentTo(new[] { "config.json", "model.safetensors" }));
    }

    [Test]
    public void AFolderOfOtherFilesNeedsOverwrite()
    {
        using var run = new TinyRun();
        var foreign = run.File("notes");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "config.json"), "someone else's");

        var refused = Simnpo.Run(run.Unlearn(foreign));
        Assert.That(refused.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(refused.Error, Does.Contain($"--out {foreign} is not empty and holds no run of simnpo").And.Contain("--overwrite"));
        Assert.That(File.ReadAllText(Path.Combine(foreign, "config.json")), Is.EqualTo("someone else's"));
        Assert.That(Directory.EnumerateFileSystemEntries(foreign).Count(), Is.EqualTo(1), "nothing written, no lock left");

        var overwritten = Simnpo.Run(run.Unlearn(foreign, "--overwrite"));
        Assert.That(overwritten.Code, Is.EqualTo(CommandRunner.Success), overwritten.Error);
        Assert.That(File.ReadAllText(Path.Combine(foreign, "config.json")), Does.Contain("hidden_size"));

        // Its own earlier run is not a stranger's folder: it resumes without --overwrite.
        var resumed = Simnpo.Run(run.Unlearn(foreign, "--resume"));
        Assert.That(resumed.Code, Is.EqualTo(CommandRunner.Success), resumed.Error);
    }
}
