using SimNpo.Cli;

namespace SimNpo.Tests.Cli;

/// <summary>`simnpo sweep`: a 2 × 1 grid of tiny unlearning runs, its table and plot, skipping and resuming points.</summary>
public class SweepCommandTests
{
    private static string[] Sweep(TinyRun run, string output, params string[] grid) =>
    [
        "sweep", .. grid.SelectMany(g => new[] { "--grid", g }), "--out", output, "--quiet", "--",
        "unlearn", "--model", run.Model, "--forget", run.Forget, "--retain", run.Retain, "--epochs", "1", "--batch-size", "4", "--grad-accum", "1",
        "--warmup", "0", "--eval-every", "3",
    ];

    [Test]
    public void AGridRunsEachPointOnceAndTabulatesThem()
    {
        using var run = new TinyRun();
        var output = run.File("sweep");
        var first = Simnpo.Run(Sweep(run, output, "beta=2.5,4.5", "lr=1e-2"));
        Assert.That(first.Code, Is.EqualTo(CommandRunner.Success), first.Output + first.Error);
        Assert.That(first.Output, Does.Contain("beta=2.5_lr=1e-2: running").And.Contain("beta=4.5_lr=1e-2: running"));

        var csv = File.ReadAllLines(Path.Combine(output, "sweep.csv"));
        Assert.That(csv[0], Is.EqualTo("point,beta,lr,status,steps,loss,forget_loss,retain_loss,forget_logprob,retain_logprob"));
        Assert.That(csv[1..].Select(line => string.Join(",", line.Split(',')[..5])),
            Is.EqualTo(new[] { "beta=2.5_lr=1e-2,2.5,1e-2,finished,3", "beta=4.5_lr=1e-2,4.5,1e-2,finished,3" }));
        // Each row's loss is its run's last logged loss, β is what its run.json records.
        foreach (var (line, beta) in csv[1..].Zip(new[] { 2.5, 4.5 }))
        {
            var folder = Path.Combine(output, line.Split(',')[0]);
            Assert.That(File.ReadAllText(Path.Combine(folder, "run.json")), Does.Contain($"\"beta\": {beta}"));
            var last = System.Text.Json.JsonDocument.Parse(File.ReadLines(Path.Combine(folder, "log.jsonl")).Last()).RootElement;
            // The table prints 6 significant digits: within half a unit of the sixth, 5e-6 of the value.
            var loss = last.GetProperty("loss").GetDouble();
            Assert.That(double.Parse(line.Split(',')[5], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(loss).Within(5e-6 * Math.Abs(loss)));
        }
        Assert.That(File.ReadAllText(Path.Combine(output, "sweep.md")), Does.StartWith("| point | beta | lr | status |"));
        Assert.That(File.ReadAllText(Path.Combine(output, "sweep.svg")), Does.Contain("<svg").And.Contain("beta=4.5_lr=1e-2"));

        // A second run skips finished points and resumes an unfinished one (here: its final model removed after the last checkpoint).
        File.Delete(Path.Combine(output, "beta=4.5_lr=1e-2", "model.safetensors"));
        var second = Simnpo.Run(Sweep(run, output, "beta=2.5,4.5", "lr=1e-2"));
        Assert.That(second.Code, Is.EqualTo(CommandRunner.Success), second.Output + second.Error);
        Assert.That(second.Output, Does.Contain("beta=2.5_lr=1e-2: finished before, skipped").And.Contain("beta=4.5_lr=1e-2: resuming")
            .And.Contain("had already finished its 3 steps"));
        Assert.That(File.Exists(Path.Combine(output, "beta=4.5_lr=1e-2", "model.safetensors")));
    }

    [Test]
    public void AnUnknownKeyListsTheCommandsOptions()
    {
        using var run = new TinyRun();
        var unknown = Simnpo.Run(Sweep(run, run.File("sweep"), "betta=1,2"));
        Assert.That(unknown.Code, Is.EqualTo(CommandRunner.Usage));
        Assert.That(unknown.Error, Does.StartWith("error: --grid betta: unlearn has no option --betta; its options are ").And.Contain(" beta, "));
        Assert.That(Simnpo.Run([.. Sweep(run, run.File("sweep"), "beta=1"), "--out", "x"]).Error, Does.Contain("sweep chooses each point's --out"));
        Assert.That(Simnpo.Run(Sweep(run, run.File("sweep"), "beta")).Error, Does.Contain("is not KEY=VALUE"));
    }
}
