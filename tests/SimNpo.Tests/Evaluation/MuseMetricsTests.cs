using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>Min-K%, the AUC and the KnowMem prompt on inputs small enough to check by hand.</summary>
public class MuseMetricsTests
{
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

    /// <summary>A member text has the lower Min-K% score, so telling the low scorers apart as members gives AUC 1.</summary>
    [Test]
    public void MinKAucTreatsLowScoresAsMembers() =>
        Assert.That(new MinKScores([0.5, 1.0], [2.0, 3.0]).Auc, Is.EqualTo(1));

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
        Assert.That(prompt, Is.EqualTo("Question: Who?\nAnswer: Alice\n\nQuestion: Where?\nAnswer: Wonderland\n\nQuestion: What?\nAnswer:"));
    }

    [Test]
    public void KnowMemAnswerEndsAtABlankLineOrTheNextQuestion()
    {
        Assert.That(KnowMemPrompt.CutAnswer(" Nine feet\n\nQuestion: more"), Is.EqualTo("Nine feet"));
        Assert.That(KnowMemPrompt.CutAnswer(" Pink\nQuestion: What"), Is.EqualTo("Pink"));
        Assert.That(KnowMemPrompt.CutAnswer(" a cat\nand a dog"), Is.EqualTo("a cat\nand a dog"));
        Assert.That(KnowMemPrompt.CutAnswer("Question"), Is.Empty);
    }
}
