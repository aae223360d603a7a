using System.Text.Json.Nodes;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// Min-K%, the AUC and the KnowMem prompt on inputs small enough to check by hand; the AUC and PrivLeak in MUSE's
/// convention against scikit-learn (tools/fixtures/make_privleak_fixture.py) and against muse_bench's own logs.
/// </summary>
public class MuseMetricsTests
{
    private static readonly JsonNode Fixture =
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "evaluation", "privleak_auc.json")))!;

    private static double[] Doubles(JsonNode node) => node.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    /// <summary>Five log-probs, k = 40%: the ⌊2⌋ lowest are −5 and −4, score −mean = 4.5. Exact in doubles.</summary>
    [Test]
    public void MinKAveragesTheLowestShare()
    {
        Assert.That(MinKProbability.Score([-1, -2, -3, -4, -5]), Is.EqualTo(4.5));
        Assert.That(MinKProbability.Score([-3, -1, -2, -4, -5, -0.5, -0.25, -6, -7, -0.1], 0.4), Is.EqualTo((7 + 6 + 5 + 4) / 4.0));
        // Two tokens at 40% is ⌊0.8⌋ = 0 of them; the score still takes the lowest one.
        Assert.That(MinKProbability.Score([-1, -3]), Is.EqualTo(3));
    }

    /// <summary>P(member outranks non-member), ties half: separated 1, equal 0.5, one win and one loss 0.5, 3 of 4 pairs 0.75.</summary>
    [Test]
    public void AucCountsOrderedPairs()
    {
        Assert.That(RocAuc.Compute([3, 4], [1, 2]), Is.EqualTo(1));
        Assert.That(RocAuc.Compute([1, 2], [3, 4]), Is.EqualTo(0));
        Assert.That(RocAuc.Compute([1], [1]), Is.EqualTo(0.5));
        Assert.That(RocAuc.Compute([2, 0], [1]), Is.EqualTo(0.5));
        Assert.That(RocAuc.Compute([2, 3], [1, 2.5]), Is.EqualTo(0.75));
        Assert.That(RocAuc.Compute([1, 1], [1, 0]), Is.EqualTo(0.75));
    }

    /// <summary>
    /// MUSE's convention: the holdout texts are the positive class, ranked by minus the Min-K% score. Forget texts the
    /// model memorised score lower than every holdout text, so no holdout text outranks one: AUC 0, not 1.
    /// </summary>
    [Test]
    public void MinKAucTakesTheHoldoutTextsAsMembers()
    {
        Assert.That(new MinKScores([0.5, 1.0], [2.0, 3.0]).Auc, Is.EqualTo(0));
        Assert.That(new MinKScores([2.0, 3.0], [0.5, 1.0]).Auc, Is.EqualTo(1));
    }

    /// <summary>
    /// sklearn's roc_curve + auc with labels forget 0 / holdout 1 and score −Min-K%, as muse_bench computes it, on
    /// constructed lists with ties and unequal sizes. sklearn sums trapezoids, we count pairs: both are exact up to the
    /// rounding of at most a few hundred additions of numbers ≤ 1, far below 1e-12.
    /// </summary>
    [Test]
    public void MinKAucMatchesSklearnInMusesConvention()
    {
        foreach (var entry in Fixture["cases"]!.AsArray())
        {
            var scores = new MinKScores(Doubles(entry!["forget"]!), Doubles(entry["holdout"]!));
            Assert.That(scores.Auc, Is.EqualTo(entry["auc"]!.GetValue<double>()).Within(1e-12), entry["name"]!.GetValue<string>());
        }
    }

    /// <summary>
    /// PrivLeak = (AUC − AUC_retrain)/AUC_retrain × 100 on the MUSE-convention AUCs, against the same fixture: a
    /// memorising model is negative, an over-unlearned one positive, the retrained model against itself exactly 0. The
    /// AUCs' 1e-14 errors are amplified by 100/AUC_retrain (≤ 250 here): 1e-9 leaves room without hiding a wrong formula.
    /// </summary>
    [Test]
    public void PrivLeakMatchesMusesFormula()
    {
        var cases = Fixture["cases"]!.AsArray().ToDictionary(c => c!["name"]!.GetValue<string>(),
            c => new MinKScores(Doubles(c!["forget"]!), Doubles(c["holdout"]!)).Auc);
        foreach (var entry in Fixture["privleak"]!.AsArray())
        {
            var retrain = entry!["retrain"]!;
            var retrainAuc = retrain.GetValueKind() == System.Text.Json.JsonValueKind.String ? cases[retrain.GetValue<string>()] : retrain.GetValue<double>();
            var leak = new PrivLeak(cases[entry["model"]!.GetValue<string>()], retrainAuc, "fixture");
            Assert.That(leak.Value, Is.EqualTo(entry["privleak"]!.GetValue<double>()).Within(1e-9), entry.ToJsonString());
        }
        Assert.That(new PrivLeak(cases["retrained"], cases["retrained"], "itself").Value, Is.EqualTo(0));
    }

    /// <summary>
    /// muse_bench's own per-text Min-40% scores of its News target and retrained models: our AUC must equal its
    /// auc.json (forget_holdout_Min-40%, sklearn on 100 + 100 texts: 1e-12 as above); PrivLeak against the published
    /// retrained AUC 0.4772 (constants.py AUC_RETRAIN) is MUSE's −99.8 for the target and 0 for the retrained model.
    /// </summary>
    [Test]
    public void MatchesMuseBenchOnItsNewsLogs()
    {
        var root = SharedFiles.Require("data/reference-logs/muse-bench/news");
        double Auc(string model)
        {
            double[] Scores(string split) => JsonNode.Parse(File.ReadAllText(Path.Combine(root, model, "privleak", split)))!.AsArray()
                .Select(text => text!["ppl"]!["Min-40%"]!.GetValue<double>()).ToArray();
            var auc = new MinKScores(Scores("forget.json"), Scores("holdout.json")).Auc;
            var published = JsonNode.Parse(File.ReadAllText(Path.Combine(root, model, "privleak", "auc.json")))!["forget_holdout"]!["Min-40%"]!;
            Assert.That(auc, Is.EqualTo(published.GetValue<double>()).Within(1e-12), model);
            return auc;
        }
        const double museNewsRetrainAuc = 0.47719999999999996;
        Assert.That(new PrivLeak(Auc("target"), museNewsRetrainAuc, "MUSE").Value, Is.EqualTo(-99.81).Within(0.005));
        Assert.That(new PrivLeak(Auc("retrain"), museNewsRetrainAuc, "MUSE").Value, Is.EqualTo(0).Within(1e-9));
    }

    /// <summary>(AUC − AUC_retrain)/AUC_retrain × 100: 0.75 against 0.5 is +50; undefined against 0.</summary>
    [Test]
    public void PrivLeakIsRelativeToTheRetrainedModel()
    {
        Assert.That(new PrivLeak(0.75, 0.5, "given").Value, Is.EqualTo(50));
        Assert.That(new PrivLeak(0.25, 0.5, "given").Value, Is.EqualTo(-50));
        Assert.That(new PrivLeak(0.25, 0, "given").Value, Is.Null);
    }

    [Test]
    public void KnowMemPromptIsFewShotQuestionAnswerPairs()
    {
        var prompt = KnowMemPrompt.Build([new QuestionAnswer("Who?", "Alice"), new QuestionAnswer("Where?", "Wonderland")], "What?");
        // muse_bench metrics/knowmem.py: "Question: {q}\nAnswer: {a}\n\n" per example, then "Question: {q}\nAnswer: ".
        Assert.That(prompt, Is.EqualTo("Question: Who?\nAnswer: Alice\n\nQuestion: Where?\nAnswer: Wonderland\n\nQuestion: What?\nAnswer: "));
    }

    /// <summary>muse_bench keeps the answer before the first "\n\n", "\nQuestion" or "Question:"; "Question" alone stays.</summary>
    [Test]
    public void KnowMemAnswerEndsAtABlankLineOrTheNextQuestion()
    {
        Assert.That(KnowMemPrompt.CutAnswer(" Nine feet\n\nQuestion: more"), Is.EqualTo("Nine feet"));
        Assert.That(KnowMemPrompt.CutAnswer(" Pink\nQuestion what"), Is.EqualTo("Pink"));
        Assert.That(KnowMemPrompt.CutAnswer(" Pink Question: what"), Is.EqualTo("Pink"));
        Assert.That(KnowMemPrompt.CutAnswer(" a cat\nand a dog"), Is.EqualTo("a cat\nand a dog"));
        Assert.That(KnowMemPrompt.CutAnswer(" Questionable motives"), Is.EqualTo("Questionable motives"));
    }
}
