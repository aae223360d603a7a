using SimNpo.Unlearn.Training;

namespace SimNpo.Cli;

/// <summary>
/// A progress line redrawn in place on a terminal (step, loss, learning rate, tokens/s), or a plain line every twentieth
/// of the run when the output goes to a file. Messages get a line of their own.
/// </summary>
public sealed class ConsoleTrainingObserver(TextWriter output, bool interactive) : ITrainingObserver
{
    /// <summary>Redraws in place only when the writer is the console and the console is a terminal.</summary>
    public static ConsoleTrainingObserver For(TextWriter output) => new(output, !Console.IsOutputRedirected && output == Console.Out);

    private bool _lineOpen;

    public void Message(string text)
    {
        CloseLine();
        output.WriteLine(text);
    }

    public void StepDone(StepRecord record, int totalSteps)
    {
        var tokensPerSecond = record.Seconds > 0 ? record.Tokens / record.Seconds : 0;
        var eval = record.Eval is { } values ? " | " + string.Join(" ", values.Select(pair => $"{pair.Key} {pair.Value:F3}")) : "";
        var line = $"step {record.Step}/{totalSteps} | epoch {record.Epoch + 1} | loss {record.Loss:F4} | forget ℓ {record.ForgetNormalisedLogProb:F3} | " +
                   $"grad {record.GradNorm:F3} | lr {record.LearningRate:E2} | {tokensPerSecond:F0} tok/s{eval}";
        if (interactive)
        {
            output.Write("\r" + line.PadRight(120));
            _lineOpen = true;
            if (record.Step == totalSteps) CloseLine();
        }
        else if (record.Step == totalSteps || record.Step % Math.Max(1, totalSteps / 20) == 0 || record.Eval is not null)
            output.WriteLine(line);
    }

    private void CloseLine()
    {
        if (!_lineOpen) return;
        output.WriteLine();
        _lineOpen = false;
    }
}
