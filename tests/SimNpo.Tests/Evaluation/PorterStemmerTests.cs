using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>Against nltk's PorterStemmer(mode=ORIGINAL_ALGORITHM), written by tools/fixtures/make_rouge_fixture.py.</summary>
public class PorterStemmerTests
{
    /// <summary>The paper's own examples, and where the original algorithm differs from nltk's default mode.</summary>
    [TestCase("caresses", "caress")]
    [TestCase("ponies", "poni")]
    [TestCase("feed", "feed")]
    [TestCase("agreed", "agre")]
    [TestCase("hopping", "hop")]
    [TestCase("filing", "file")]
    [TestCase("happy", "happi")]
    [TestCase("sky", "sky")]
    [TestCase("relational", "relat")]
    [TestCase("conformabli", "conform")]
    [TestCase("radicalli", "radic")]
    [TestCase("generalization", "gener")]
    [TestCase("controll", "control")]
    [TestCase("yyyy", "yyyi")]
    [TestCase("dying", "dy")]
    [TestCase("1990s", "1990")]
    public void StemsThePapersExamples(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    [Test]
    public void StemsEveryWordOfTheTofuAnswersAsNltkDoes()
    {
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", "evaluation", "porter_stems.txt"));
        Assert.That(lines, Has.Length.GreaterThan(10_000));
        var mismatches = new List<string>();
        foreach (var line in lines)
        {
            // "word" when nltk leaves it as it is, "word stem" otherwise.
            var parts = line.Split(' ');
            var expected = parts.Length == 2 ? parts[1] : parts[0];
            var actual = PorterStemmer.Stem(parts[0]);
            if (actual != expected) mismatches.Add($"{parts[0]}: {actual}, nltk {expected}");
        }
        Assert.That(mismatches, Is.Empty);
    }
}
