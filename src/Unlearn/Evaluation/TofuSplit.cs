namespace SimNpo.Unlearn.Evaluation;

/// <summary>
/// One of the four TOFU evaluation splits, as the public TOFU evaluation (config/eval_everything.yaml) sets them up.
/// BaseAnswerField is the answer the truth ratio sets against the perturbed ones: the paraphrased answer on the forget
/// and retain splits; real authors and world facts have no paraphrase, and TOFU takes the answer itself there.
/// </summary>
public sealed record TofuSplit(string Name, string FileName, string BaseAnswerField, bool IsForget)
{
    public const string ParaphrasedAnswer = "paraphrased_answer";
    public const string Answer = "answer";
    public const string ForgetName = "forget";

    /// <summary>
    /// TOFU's Prob is the plain length-normalised answer probability on the forget and retain splits and, on real
    /// authors and world facts, that probability against the perturbed answers' (TOFU: normalize_gt where the task
    /// name lacks "eval_log"). It coincides with the splits that have no paraphrase.
    /// </summary>
    public bool NormalisesProb => BaseAnswerField == Answer;

    public static readonly TofuSplit Retain = new("retain", "retain_perturbed.jsonl", ParaphrasedAnswer, false);
    public static readonly TofuSplit RealAuthors = new("real_authors", "real_authors_perturbed.jsonl", Answer, false);
    public static readonly TofuSplit WorldFacts = new("world_facts", "world_facts_perturbed.jsonl", Answer, false);

    /// <summary>forget01, forget05 or forget10: the perturbed file of that forget set.</summary>
    public static TofuSplit Forget(string forgetSet) => new(ForgetName, $"{forgetSet}_perturbed.jsonl", ParaphrasedAnswer, true);

    /// <summary>The four splits in TOFU's order; the first three make up model utility.</summary>
    public static IReadOnlyList<TofuSplit> All(string forgetSet) => [Retain, RealAuthors, WorldFacts, Forget(forgetSet)];
}

/// <summary>One evaluation question: its answer, the answer the truth ratio uses as true, and the perturbed (wrong) answers.</summary>
public sealed record TofuItem(int Line, string Question, string Answer, string BaseAnswer, IReadOnlyList<string> PerturbedAnswers);
