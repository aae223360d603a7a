namespace SimNpo.Unlearn.Progress;

/// One phase of long work (training steps, evaluation items, a download in bytes). Disposing it ends the phase.
public interface IProgressTask : IDisposable
{
    /// Counts `amount` more units done.
    void Advance(long amount = 1);

    /// Sets the total when it becomes known later (a download's Content-Length); 0 or less means unknown.
    void SetTotal(long total);

    /// A short status shown after the bar, e.g. "loss 0.693".
    void Describe(string status);
}
