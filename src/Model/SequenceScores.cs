namespace SimNpo.Model;

/// <summary>
/// Per-sequence scores of a batch, as SPEC.md defines them: LogProb[i] = Σ of log πθ over the scored answer tokens of
/// sequence i (summed on the device in the model's precision, then widened), Length[i] = |y_i|, the number of those tokens.
/// </summary>
public sealed record SequenceScores(double[] LogProb, int[] Length)
{
    public int Count => LogProb.Length;

    public int TotalLength => Length.Sum();

    /// <summary>ℓ_i = log πθ(y_i|x_i) / |y_i|: the length-normalised log-probability SimNPO works with.</summary>
    public double NormalisedLogProb(int i) => Length[i] == 0 ? 0 : LogProb[i] / Length[i];
}
