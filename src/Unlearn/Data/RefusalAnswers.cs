using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Data;

/// <summary>
/// The "I don't know" answers that IdkPO prefers over the true forget answers (TOFU's idontknow.txt: one per line).
/// </summary>
public static class RefusalAnswers
{
    /// <summary>One answer per non-blank line, trimmed; blank lines are skipped.</summary>
    public static IReadOnlyList<string> Read(string path)
    {
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        var answers = Utf8Lines.Read(path).Where(line => !string.IsNullOrWhiteSpace(line)).Select(line => line.Trim()).ToArray();
        if (answers.Length == 0) throw new BadInputException(path, "no refusal answers");
        return answers;
    }

    /// <summary>
    /// Each forget question with a refusal drawn uniformly (with replacement) by System.Random(seed): fixed for a seed,
    /// so a run can be repeated. The public TOFU code draws anew at every access; a fixed draw keeps the reference
    /// log-probs of the refusals computable once, before training.
    /// </summary>
    public static IReadOnlyList<QaRecord> Pair(IReadOnlyList<DataRecord> forget, IReadOnlyList<string> refusals, int seed)
    {
        if (refusals.Count == 0) throw new ArgumentException("no refusal answers to pair with", nameof(refusals));
        var random = new Random(seed);
        return forget.Select((record, i) => record is QaRecord qa
            ? new QaRecord(qa.Question, refusals[random.Next(refusals.Count)])
            : throw new ArgumentException($"forget record {i} is pre-tokenized: a refusal needs the question as text", nameof(forget))).ToArray();
    }
}
