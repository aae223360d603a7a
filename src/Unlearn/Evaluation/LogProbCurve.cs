using SimNpo.Model;
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

    public static Func<LlamaModel<float>, IReadOnlyDictionary<string, double>> For(TrainingData data, TrainingSettings settings)
    {
        var forget = data.Forget.Take(Examples).ToArray();
        var retain = data.Retain.Take(Examples).ToArray();
        return model =>
        {
            var values = new Dictionary<string, double> { [ForgetLogProb] = NormalisedLogProb.Mean(model, forget, settings.BatchSize, settings.MaxLength) };
            if (retain.Length > 0) values[RetainLogProb] = NormalisedLogProb.Mean(model, retain, settings.BatchSize, settings.MaxLength);
            return values;
        };
    }
}
