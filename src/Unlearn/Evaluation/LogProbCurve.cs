using SimNpo.Model;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// The evaluation a training run logs every few steps: mean ℓ over the first examples of the forget and retain sets,
/// enough for a curve and cheap beside training. Keys are those the training-curve plots read.
/// </summary>
public static class LogProbCurve
{
    public const string ForgetLogProb = "forget_logprob";
    public const string RetainLogProb = "retain_logprob";
    public const int Examples = 64;

    /// <param name="group">The data-parallel group of a training run: every rank evaluates its share of the batches (collective).</param>
    public static Func<LlamaModel<float>, IReadOnlyDictionary<string, double>> For(TrainingData data, TrainingSettings settings, ICommunicator? group = null)
    {
        var forget = data.Forget.Take(Examples).ToArray();
        var retain = data.Retain.Take(Examples).ToArray();
        return model =>
        {
            var values = new Dictionary<string, double> { [ForgetLogProb] = NormalisedLogProb.Mean(model, forget, settings.BatchSize, settings.MaxLength, group) };
            if (retain.Length > 0) values[RetainLogProb] = NormalisedLogProb.Mean(model, retain, settings.BatchSize, settings.MaxLength, group);
            return values;
        };
    }
}
