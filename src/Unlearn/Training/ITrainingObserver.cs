namespace SimNpo.Unlearn.Training;

/// <summary>Where a run reports: the command line draws a progress line, tests listen quietly.</summary>
public interface ITrainingObserver
{
    /// <summary>A line worth telling the user (reference model loaded, resuming, checkpoint written).</summary>
    void Message(string text);

    void StepDone(StepRecord record, int totalSteps);
}

/// <summary>Discards everything.</summary>
public sealed class SilentObserver : ITrainingObserver
{
    public void Message(string text) { }

    public void StepDone(StepRecord record, int totalSteps) { }
}
