namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// Area under the ROC curve of a score that should rank members (texts the model saw) above non-members: the
/// probability that a random member outranks a random non-member, ties counting half (Mann–Whitney). This equals the
/// trapezoidal area of sklearn's roc_curve, which MUSE uses.
/// </summary>
public static class RocAuc
{
    public static double Compute(IReadOnlyList<double> memberScores, IReadOnlyList<double> nonMemberScores)
    {
        if (memberScores.Count == 0 || nonMemberScores.Count == 0) throw new ArgumentException("the AUC needs members and non-members");
        var sortedNonMembers = nonMemberScores.Order().ToArray();
        var wins = 0.0;
        foreach (var score in memberScores)
        {
            var below = LowerBound(sortedNonMembers, score);
            var tied = LowerBound(sortedNonMembers, Math.BitIncrement(score)) - below;
            wins += below + 0.5 * tied;
        }
        return wins / ((double)memberScores.Count * nonMemberScores.Count);
    }

    /// <summary>How many sorted values are less than x.</summary>
    private static int LowerBound(double[] sorted, double x)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (sorted[middle] < x) low = middle + 1;
            else high = middle;
        }
        return low;
    }
}
