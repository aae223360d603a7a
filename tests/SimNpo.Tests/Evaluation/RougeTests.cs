using System.Text.Json.Nodes;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// Against rouge_score's rules with nltk's default stemmer (tools/fixtures/make_rouge_fixture.py): TOFU answers against
/// their paraphrased and perturbed answers, plus numbers, punctuation, non-ASCII text and empty sides, with
/// use_stemmer=True (TOFU) and False (MUSE); and against the ROUGE values rouge_score itself wrote into the official
/// evaluation logs of open-unlearning (TOFU) and muse_bench (MUSE-News).
/// </summary>
public class RougeTests
{
    private static readonly JsonNode Fixture =
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "evaluation", "rouge_l.json")))!;

    private static string Text(JsonNode pair, string side) => Fixture["texts"]![pair[side]!.GetValue<int>()]!["text"]!.GetValue<string>();

    [TestCase(true, "tokens")]
    [TestCase(false, "unstemmed_tokens")]
    public void TokenizesAsRougeScoreDoes(bool useStemmer, string field)
    {
        var texts = Fixture["texts"]!.AsArray();
        Assert.That(texts, Has.Count.GreaterThan(300));
        foreach (var entry in texts)
        {
            var text = entry!["text"]!.GetValue<string>();
            var expected = entry[field]!.GetValue<string>().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(RougeL.Tokenize(text, useStemmer), Is.EqualTo(expected), text);
        }
    }

    [TestCase(true, "stemmed")]
    [TestCase(false, "unstemmed")]
    public void ScoresMatchTheReference(bool useStemmer, string field)
    {
        var pairs = Fixture["pairs"]!.AsArray();
        Assert.That(pairs, Has.Count.GreaterThan(250));
        foreach (var pair in pairs)
        {
            var prediction = Text(pair!, "prediction");
            var reference = Text(pair!, "reference");
            var score = RougeL.Score(prediction, reference, useStemmer);
            var expected = pair![field]!;
            var lcs = expected["lcs"]!.GetValue<int>();
            // P and R are the integer LCS over integer lengths, F1 two more operations in the same order: an error
            // of a few ulps (1e-16) would mean a different formula, a wrong token count moves them by > 1e-3.
            Assert.That(score.Precision, Is.EqualTo(expected["precision"]!.GetValue<double>()).Within(1e-12), $"{prediction} | {reference}");
            Assert.That(score.Recall, Is.EqualTo(expected["recall"]!.GetValue<double>()).Within(1e-12), $"{prediction} | {reference}");
            Assert.That(score.F1, Is.EqualTo(expected["f1"]!.GetValue<double>()).Within(1e-12), $"{prediction} | {reference}");
            if (lcs > 0) Assert.That(score.Recall * RougeL.Tokenize(reference, useStemmer).Count, Is.EqualTo(lcs).Within(1e-9));
        }
    }

    /// <summary>
    /// rouge_score's stemmer takes died to die (nltk's -ied rule), so 4 of the reference's 5 tokens are matched; the
    /// published algorithm's di would match 3. Without stemming, die ≠ died: 3 of 5 again, and 3 of 4 predicted.
    /// </summary>
    [Test]
    public void DiedMatchesDieWhenStemmed()
    {
        Assert.That(RougeL.Score("He died in Paris", "He will die in Paris", useStemmer: true).Recall, Is.EqualTo(0.8));
        Assert.That(RougeL.Score("He died in Paris", "He will die in Paris", useStemmer: false),
            Is.EqualTo(new RougeScore(3.0 / 4, 3.0 / 5, 2 * (3.0 / 4) * (3.0 / 5) / (3.0 / 4 + 3.0 / 5))));
    }

    /// <summary>MUSE scores without stemming: running/dogs/jumped and dog/runs/jumps share nothing but "the".</summary>
    [Test]
    public void UnstemmedTokensAreTheLowerCaseWords()
    {
        Assert.That(RougeL.Tokenize("The running dogs jumped.", useStemmer: false), Is.EqualTo(new[] { "the", "running", "dogs", "jumped" }));
        Assert.That(RougeL.Score("The running dogs jumped", "the dog runs and jumps", useStemmer: false).Recall, Is.EqualTo(1.0 / 5));
    }

    [Test]
    public void SubsequenceNotSubstring()
    {
        // Tokens "the cat sat on the mat" / "the cat on a mat": LCS "the cat on mat" = 4 of 6 and 5.
        var score = RougeL.Score("The cat sat on the mat.", "the cat, on a mat", useStemmer: true);
        Assert.That(score.Precision, Is.EqualTo(4.0 / 6));
        Assert.That(score.Recall, Is.EqualTo(4.0 / 5));
        Assert.That(score.F1, Is.EqualTo(2 * (4.0 / 6) * (4.0 / 5) / (4.0 / 6 + 4.0 / 5)));
    }

    [Test]
    public void EmptySideScoresZero()
    {
        Assert.That(RougeL.Score("", "anything", useStemmer: true), Is.EqualTo(new RougeScore(0, 0, 0)));
        Assert.That(RougeL.Score("?!", "anything", useStemmer: false), Is.EqualTo(new RougeScore(0, 0, 0)));
    }

    /// <summary>
    /// Every ROUGE value rouge_score (use_stemmer=True, nltk's default stemmer) wrote into open-unlearning's TOFU logs:
    /// generation against ground truth, recall and F1, about 5,000 answers. Same operations in the same order, so equal
    /// to 1e-12 (a different token anywhere moves a value by more than 1e-3).
    /// </summary>
    [Test]
    public void MatchesRougeScoreInTheOpenUnlearningTofuLogs()
    {
        var root = SharedFiles.Require("data/reference-logs/open-unlearning");
        var checkedItems = 0;
        foreach (var path in Directory.EnumerateFiles(root, "TOFU_EVAL.json", SearchOption.AllDirectories))
        {
            var log = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            foreach (var (metric, value) in log.Where(m => m.Key.EndsWith("_ROUGE", StringComparison.Ordinal)))
                foreach (var (index, item) in value!["value_by_index"]!.AsObject())
                {
                    var score = RougeL.Score(item!["generation"]!.GetValue<string>(), item["ground_truth"]!.GetValue<string>(), useStemmer: true);
                    Assert.That(score.Recall, Is.EqualTo(Number(item["rougeL_recall"]!)).Within(1e-12), $"{path} {metric} {index}");
                    Assert.That(score.F1, Is.EqualTo(Number(item["rougeL_f1"]!)).Within(1e-12), $"{path} {metric} {index}");
                    checkedItems++;
                }
        }
        Assert.That(checkedItems, Is.GreaterThan(4000));
    }

    /// <summary>
    /// Every ROUGE-L value rouge_score (use_stemmer=False) wrote into muse_bench's MUSE-News logs (VerbMem and KnowMem of
    /// the target and retrained models, about 1,000 items): response against gt, F1 and recall, to 1e-12 as above.
    /// </summary>
    [Test]
    public void MatchesRougeScoreInTheMuseBenchLogsWithoutStemming()
    {
        var root = SharedFiles.Require("data/reference-logs/muse-bench/news");
        var checkedItems = 0;
        foreach (var path in Directory.EnumerateFiles(root, "history.json", SearchOption.AllDirectories))
            foreach (var item in JsonNode.Parse(File.ReadAllText(path))!.AsArray())
            {
                var score = RougeL.Score(item!["response"]!.GetValue<string>(), item["gt"]!.GetValue<string>(), useStemmer: false);
                Assert.That(score.F1, Is.EqualTo(item["rougeL"]!.GetValue<double>()).Within(1e-12), $"{path} {item["prompt"]}");
                Assert.That(score.Recall, Is.EqualTo(item["rougeL_recall"]!.GetValue<double>()).Within(1e-12), $"{path} {item["prompt"]}");
                checkedItems++;
            }
        Assert.That(checkedItems, Is.GreaterThan(1000));
    }

    /// <summary>open-unlearning writes its ROUGE values as strings, muse_bench as numbers.</summary>
    private static double Number(JsonNode node) =>
        node.GetValueKind() == System.Text.Json.JsonValueKind.String
            ? double.Parse(node.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) : node.GetValue<double>();
}
