using SimNpo.Unlearn.Training;

namespace SimNpo.Cli;

/// <summary>
/// A step line (step, loss, learning rate, tokens/s) every twentieth of the run, at every evaluation and at the end; messages
/// as they come. The live view (rate, ETA) is the progress bar the trainer reports on stderr.
/// </summary>
public sealed class ConsoleTrainingObserver(TextWriter output) : ITrainingObserver
{
    public static ConsoleTrainingObserver For(TextWriter output) => new(output);

    public void Message(string text) => output.WriteLine(text);

    public void StepDone(StepRecord record, int totalSteps)
    {
        if (record.Step != totalSteps && record.Step % Math.Max(1, totalSteps / 20) != 0 && record.Eval is null) return;
        var tokensPerSecond = record.Seconds > 0 ? record.Tokens / record.Seconds : 0;
        var eval = record.Eval is { } values ? " | " + string.Join(" ", values.Select(pair => $"{pair.Key} {pair.Value:F3}")) : "";
        output.WriteLine($"step {record.Step}/{totalSteps} | epoch {record.Epoch + 1} | loss {record.Loss:F4} | forget ℓ {record.ForgetNormalisedLogProb:F3} | " +
                         $"grad {record.GradNorm:F3} | lr {record.LearningRate:E2} | {tokensPerSecond:F0} tok/s{eval}");
    }
}
