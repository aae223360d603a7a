using SimNpo.Model.Tokenizers;

namespace SimNpo.Tests.Tokenizers;

/// <summary>Expected values from Python's unicodedata.normalize("NFC", …) (Unicode 14.0), the source of the table too.</summary>
public class UnicodeNfcTests
{
    [TestCase("Cafe\u0301", "Caf\u00e9", TestName = "a mark joins its letter")]
    [TestCase("\u1100\u1161\u11a8 \uac00", "\uac01 \uac00", TestName = "Hangul jamo compose arithmetically")]
    [TestCase("\u212b", "\u00c5", TestName = "a singleton (Angstrom sign) becomes its letter")]
    [TestCase("a\u0301\u0328", "\u0105\u0301", TestName = "marks are ordered by class before composing")]
    [TestCase("A\u030a\u0301", "\u01fa", TestName = "a composite composes again")]
    [TestCase("\u0958", "\u0915\u093c", TestName = "a composition exclusion stays decomposed")]
    [TestCase("q\u0307\u0323", "q\u0323\u0307", TestName = "marks with no composite are only reordered")]
    [TestCase("\U0001D15E", "\U0001D157\U0001D165", TestName = "an excluded astral composite decomposes")]
    [TestCase("\u1e0a\u0323", "\u1e0c\u0307", TestName = "a lower-class mark takes the letter first")]
    [TestCase("x\u0300\u0315\u0301", "x\u0300\u0301\u0315", TestName = "equal classes keep their order")]
    [TestCase("\ufb01 plain ASCII", "\ufb01 plain ASCII", TestName = "a compatibility ligature is kept")]
    public void ComposesAsUnicodedataDoes(string text, string expected) => Assert.That(UnicodeNfc.Normalize(text), Is.EqualTo(expected));
}
