using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Reports.TensorBoard;

/// <summary>
/// Passes everything on to another observer and writes each step's numbers to an event file: loss/total, loss/forget,
/// loss/retain, train/grad_norm, train/learning_rate, train/forget_logprob (the step's forget batch, mean ℓ),
/// train/tokens_per_second and, at evaluation steps, eval/&lt;name&gt; for every evaluated value.
/// </summary>
public sealed class TensorBoardObserver(ITrainingObserver inner, EventFileWriter writer) : ITrainingObserver
{
    public void Message(string text) => inner.Message(text);

    public void StepDone(StepRecord record, int totalSteps)
    {
        writer.Scalars(record.Step, Scalars(record));
        inner.StepDone(record, totalSteps);
    }

    public static IEnumerable<(string Tag, float Value)> Scalars(StepRecord record)
    {
        yield return ("loss/total", (float)record.Loss);
        yield return ("loss/forget", (float)record.ForgetLoss);
        if (record.RetainLoss is { } retain) yield return ("loss/retain", (float)retain);
        yield return ("train/grad_norm", (float)record.GradNorm);
        yield return ("train/learning_rate", (float)record.LearningRate);
        yield return ("train/forget_logprob", (float)record.ForgetNormalisedLogProb);
        if (record.Seconds > 0) yield return ("train/tokens_per_second", (float)(record.Tokens / record.Seconds));
        foreach (var (name, value) in record.Eval ?? new Dictionary<string, double>()) yield return ($"eval/{name}", (float)value);
    }
}
