using System.Text.Json;
using SimNpo.Cli;
using SimNpo.Tests.Reports;

namespace SimNpo.Tests.Cli;

/// <summary>`unlearn --tensorboard DIR`: one event per step carrying what log.jsonl records for it.</summary>
public class TensorBoardCommandTests
{
    [Test]
    public void UnlearnWritesEveryStepsScalarsAsTheLogHasThem()
    {
        using var run = new TinyRun();
        var output = run.File("out");
        var result = Simnpo.Run(run.Unlearn(output, "--tensorboard", run.File("tb"), "--eval-every", "3", "--quiet"));
        Assert.That(result.Code, Is.EqualTo(CommandRunner.Success), result.Error);

        var events = EventFileReader.Read(Directory.GetFiles(run.File("tb"), "events.out.tfevents.*").Single());
        Assert.That(events[0].FileVersion, Is.EqualTo("brain.Event:2"));
        var log = File.ReadLines(Path.Combine(output, "log.jsonl")).Select(line => JsonDocument.Parse(line).RootElement).ToArray();
        Assert.That(events.Skip(1).Select(e => e.Step), Is.EqualTo(log.Select(step => (long)step.GetProperty("step").GetInt32())));
        foreach (var (step, scalars) in log.Zip(events.Skip(1).Select(e => e.Scalars)))
        {
            // Scalars are float32: each equals the log's double rounded to float.
            Assert.That(scalars["loss/total"], Is.EqualTo((float)step.GetProperty("loss").GetDouble()));
            Assert.That(scalars["loss/retain"], Is.EqualTo((float)step.GetProperty("retain_loss").GetDouble()));
            Assert.That(scalars["train/grad_norm"], Is.EqualTo((float)step.GetProperty("grad_norm").GetDouble()));
            Assert.That(scalars["train/learning_rate"], Is.EqualTo((float)step.GetProperty("learning_rate").GetDouble()));
            var evaluated = step.TryGetProperty("eval", out var eval) ? eval.EnumerateObject().Select(p => "eval/" + p.Name).ToArray() : [];
            Assert.That(scalars.Keys.Where(k => k.StartsWith("eval/", StringComparison.Ordinal)), Is.EquivalentTo(evaluated));
        }
        Assert.That(log.Count(step => step.TryGetProperty("eval", out _)), Is.EqualTo(2)); // steps 3 and 6
    }
}
