using System.Text.Json.Nodes;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// Against rouge_score's rules with nltk's stemmer (tools/fixtures/make_rouge_fixture.py): TOFU answers against their
/// paraphrased and perturbed answers, plus numbers, punctuation, non-ASCII text and empty sides.
/// </summary>
public class RougeTests
{
    private static readonly JsonNode Fixture =
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "evaluation", "rouge_l.json")))!;

    private static string Text(JsonNode pair, string side) => Fixture["texts"]![pair[side]!.GetValue<int>()]!["text"]!.GetValue<string>();

    [Test]
    public void TokenizesAsRougeScoreDoes()
    {
        var texts = Fixture["texts"]!.AsArray();
        Assert.That(texts, Has.Count.GreaterThan(300));
        foreach (var entry in texts)
        {
            var text = entry!["text"]!.GetValue<string>();
            var expected = entry["tokens"]!.GetValue<string>().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(RougeL.Tokenize(text), Is.EqualTo(expected), text);
        }
    }

    [Test]
    public void ScoresMatchTheReference()
    {
        var pairs = Fixture["pairs"]!.AsArray();
        Assert.That(pairs, Has.Count.GreaterThan(250));
        foreach (var pair in pairs)
        {
            var prediction = Text(pair!, "prediction");
            var reference = Text(pair!, "reference");
            var score = RougeL.Score(prediction, reference);
            var lcs = pair!["lcs"]!.GetValue<int>();
            // P and R are the integer LCS over integer lengths, F1 two more operations in the same order: an error
            // of a few ulps (1e-16) would mean a different formula, a wrong token count moves them by > 1e-3.
            Assert.That(score.Precision, Is.EqualTo(pair["precision"]!.GetValue<double>()).Within(1e-12), $"{prediction} | {reference}");
            Assert.That(score.Recall, Is.EqualTo(pair["recall"]!.GetValue<double>()).Within(1e-12), $"{prediction} | {reference}");
            Assert.That(score.F1, Is.EqualTo(pair["f1"]!.GetValue<double>()).Within(1e-12), $"{prediction} | {reference}");
            if (lcs > 0) Assert.That(score.Recall * RougeL.Tokenize(reference).Count, Is.EqualTo(lcs).Within(1e-9));
        }
    }

    [Test]
    public void SubsequenceNotSubstring()
    {
        // Tokens "the cat sat on the mat" / "the cat on a mat": LCS "the cat on mat" = 4 of 6 and 5.
        var score = RougeL.Score("The cat sat on the mat.", "the cat, on a mat");
        Assert.That(score.Precision, Is.EqualTo(4.0 / 6));
        Assert.That(score.Recall, Is.EqualTo(4.0 / 5));
        Assert.That(score.F1, Is.EqualTo(2 * (4.0 / 6) * (4.0 / 5) / (4.0 / 6 + 4.0 / 5)));
    }

    [Test]
    public void EmptySideScoresZero()
    {
        Assert.That(RougeL.Score("", "anything"), Is.EqualTo(new RougeScore(0, 0, 0)));
        Assert.That(RougeL.Score("?!", "anything"), Is.EqualTo(new RougeScore(0, 0, 0)));
    }
}
