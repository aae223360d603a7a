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

    // One test per place where NLTK_EXTENSIONS departs from the published algorithm (nltk/stem/porter.py), each with
    // words whose stem the departure changes; the comment gives the paper's stem.

    /// <summary>The table of irregular forms is looked up first and bypasses the steps.</summary>
    [TestCase("skies", "sky")] // ski
    [TestCase("dying", "die")] // dy
    [TestCase("lying", "lie")] // ly
    [TestCase("news", "news")] // new
    [TestCase("innings", "inning")] // in
    [TestCase("outings", "outing")] // out
    [TestCase("howe", "howe")] // how
    [TestCase("proceed", "proceed")] // proce
    [TestCase("succeed", "succeed")] // succe
    public void IrregularFormsComeFromTheTable(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    /// <summary>Words of one or two letters are left as they are.</summary>
    [TestCase("is", "is")] // i
    [TestCase("as", "as")] // a
    [TestCase("us", "us")] // u
    public void TwoLetterWordsAreNotStemmed(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    /// <summary>Step 1a: a four-letter -ies becomes -ie (ties → tie, but flies → fli).</summary>
    [TestCase("ties", "tie")] // ti
    [TestCase("dies", "die")] // di
    [TestCase("flies", "fli")]
    public void FourLetterIesKeepsItsE(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    /// <summary>Step 1b: -ied becomes -ie in a four-letter word, else -i, before the -eed/-ed rules.</summary>
    [TestCase("died", "die")] // di
    [TestCase("spied", "spi")]
    public void IedBecomesIeOrI(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    /// <summary>Step 1c: y → i only after a consonant that is not the whole stem (enjoy stays, spy → spi).</summary>
    [TestCase("enjoy", "enjoy")] // enjoi
    [TestCase("say", "say")] // sai
    [TestCase("spy", "spi")] // spy
    [TestCase("fly", "fli")] // fly
    public void YBecomesIOnlyAfterAConsonant(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    /// <summary>Step 2: -alli → -al is tried first and step 2 runs again on the result.</summary>
    [TestCase("conditionally", "condit")] // condition
    [TestCase("additionally", "addit")] // addition
    public void AlliIsTriedFirstAndStepTwoRepeats(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    /// <summary>Step 2: -bli → -ble replaces the paper's -abli → -able.</summary>
    [TestCase("sensibly", "sensibl")] // sensibli
    [TestCase("possibly", "possibl")] // possibli
    public void BliBecomesBle(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    /// <summary>Step 2: -fulli → -ful, which step 3 then removes.</summary>
    [TestCase("hopefully", "hope")] // hopefulli
    [TestCase("carefully", "care")] // carefulli
    public void FulliBecomesFul(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    /// <summary>Step 2: -logi → -log, the l counted with the stem so that geo-, theo- qualify.</summary>
    [TestCase("geology", "geolog")] // geologi
    [TestCase("analogy", "analog")] // analogi
    public void LogiBecomesLog(string word, string stem) =>
        Assert.That(PorterStemmer.Stem(word), Is.EqualTo(stem));

    /// <summary>*o also holds for a two-letter vowel-consonant stem (any consonant): an e is restored or kept.</summary>
    [TestCase("aping", "ape")] // ap
    [TestCase("using", "use")] // us
    [TestCase("owing", "owe")] // ow
    [TestCase("are", "are")] // ar
    [TestCase("ice", "ice")] // ic
    public void ShortVowelConsonantStemsKeepTheirE(string word, string stem) =>
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
