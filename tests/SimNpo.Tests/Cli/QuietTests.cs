using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>Progress goes to stderr (stdout keeps the step lines), and --quiet on any command turns it off.</summary>
public class QuietTests
{
    [Test]
    public void TrainingReportsProgressOnStderrUnlessQuiet()
    {
        using var run = new TinyRun();
        var loud = Simnpo.Run(run.Unlearn(run.File("loud")));
        Assert.That(loud.Code, Is.EqualTo(CommandRunner.Success), loud.Error);
        Assert.That(loud.Error, Does.Match(@"(^|\n)simnpo loud: 6 steps in \d+:\d\d \([0-9.]+ (steps/s|s/steps)\) \| step 6/6 loss -?[0-9.]+\n"));
        Assert.That(loud.Output, Does.Contain("step 6/6 | epoch 2").And.Not.Contain("simnpo loud:"));

        var quiet = Simnpo.Run(run.Unlearn(run.File("quiet"), "--quiet"));
        Assert.That(quiet.Code, Is.EqualTo(CommandRunner.Success), quiet.Error);
        Assert.That(quiet.Error, Is.Empty);
        Assert.That(quiet.Output, Does.Contain("step 6/6 | epoch 2"));
    }
}
