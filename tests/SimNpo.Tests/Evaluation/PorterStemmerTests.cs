using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>
/// Against nltk's PorterStemmer() in its default mode, NLTK_EXTENSIONS, which rouge_score constructs (fixture written by
/// tools/fixtures/make_rouge_fixture.py with Debian's python3-nltk 3.8).
/// </summary>
public class PorterStemmerTests
{
    /// <summary>The paper's own examples, where the extensions keep them.</summary>
    [TestCase("caresses", "caress")]
    [TestCase("ponies", "poni")]
    [TestCase("feed", "feed")]
    [TestCase("agreed", "agre")]
    [TestCase("hopping", "hop")]
    [TestCase("filing", "file")]
    [TestCase("happy", "happi")]
    [TestCase("relational", "relat")]
    [TestCase("conformabli", "conform")]
    [TestCase("radicalli", "radic")]
    [TestCase("generalization", "gener")]
    [TestCase("controll", "control")]
    [TestCase("1990s", "1990")]
    public void StemsThePapersExamples(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    /// <summary>
    /// Each place where NLTK_EXTENSIONS departs from the published algorithm (nltk/stem/porter.py), with words whose stem
    /// the departure changes (and the paper's stem, in the test's name) or, marked "same", keeps.
    /// </summary>
    private static readonly (string Extension, string Word, string Stem, string PaperStem)[] Extensions =
    [
        // The table of irregular forms is looked up first and bypasses the steps.
        ("irregular form", "skies", "sky", "ski"), ("irregular form", "dying", "die", "dy"), ("irregular form", "lying", "lie", "ly"),
        ("irregular form", "news", "news", "new"), ("irregular form", "innings", "inning", "in"), ("irregular form", "outings", "outing", "out"),
        ("irregular form", "howe", "howe", "how"), ("irregular form", "proceed", "proceed", "proce"), ("irregular form", "succeed", "succeed", "succe"),
        // Words of one or two letters are left as they are.
        ("two letters", "is", "is", "i"), ("two letters", "as", "as", "a"), ("two letters", "us", "us", "u"),
        // Step 1a: a four-letter -ies becomes -ie.
        ("four-letter ies", "ties", "tie", "ti"), ("four-letter ies", "dies", "die", "di"), ("four-letter ies", "flies", "fli", "same"),
        // Step 1b: -ied becomes -ie in a four-letter word, else -i, before the -eed/-ed rules.
        ("ied", "died", "die", "di"), ("ied", "spied", "spi", "same"),
        // Step 1c: y → i only after a consonant that is not the whole stem.
        ("y after a consonant", "enjoy", "enjoy", "enjoi"), ("y after a consonant", "say", "say", "sai"),
        ("y after a consonant", "spy", "spi", "spy"), ("y after a consonant", "fly", "fli", "fly"),
        // Step 2: -alli → -al is tried first and step 2 runs again on the result.
        ("alli first", "conditionally", "condit", "condition"), ("alli first", "additionally", "addit", "addition"),
        // Step 2: -bli → -ble replaces the paper's -abli → -able.
        ("bli", "sensibly", "sensibl", "sensibli"), ("bli", "possibly", "possibl", "possibli"),
        // Step 2: -fulli → -ful, which step 3 then removes.
        ("fulli", "hopefully", "hope", "hopefulli"), ("fulli", "carefully", "care", "carefulli"),
        // Step 2: -logi → -log, the l counted with the stem so that geo-, theo- qualify.
        ("logi", "geology", "geolog", "geologi"), ("logi", "analogy", "analog", "analogi"),
        // *o also holds for a two-letter vowel-consonant stem (any consonant): an e is restored or kept.
        ("two-letter *o", "aping", "ape", "ap"), ("two-letter *o", "using", "use", "us"), ("two-letter *o", "owing", "owe", "ow"),
        ("two-letter *o", "are", "are", "ar"), ("two-letter *o", "ice", "ice", "ic"),
    ];

    private static IEnumerable<TestCaseData> ExtensionCases() =>
        Extensions.Select(e => new TestCaseData(e.Word, e.Stem).SetName($"NltkExtension({e.Extension}: {e.Word} -> {e.Stem}, paper {e.PaperStem})"));

    [TestCaseSource(nameof(ExtensionCases))]
    public void StemsWithNltksExtensions(string word, string stem) =>
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
