using SimNpo.Model.IO;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Evaluation;

/// <summary>Reading the TOFU splits: the shared files as they are, and bad files refused with their file and line.</summary>
public class TofuSplitFileTests
{
    private const string Good = """{"question": "q", "answer": "a", "paraphrased_answer": "p", "perturbed_answer": ["x", "y", "z"]}""";

    private static BadInputException Refused(TofuSplit split, params string[] lines)
    {
        using var directory = new TempDirectory();
        var path = directory.File("split.jsonl");
        File.WriteAllLines(path, lines);
        var error = Assert.Throws<BadInputException>(() => TofuSplitFile.Read(path, split, 300))!;
        Assert.That(error.File, Is.EqualTo(path));
        return error;
    }

    [Test]
    public void ForgetAndRetainUseTheParaphraseRealAuthorsTheAnswer()
    {
        var forget = TofuSplitFile.Read(SharedFiles.Require("data/tofu/forget10_perturbed.jsonl"), TofuSplit.Forget("forget10"), 300);
        Assert.That(forget, Has.Count.EqualTo(300), "TOFU's cap: the first 300 of 400 rows");
        Assert.That(forget[0].Answer, Is.EqualTo("The author's full name is Hsiao Yun-Hwa."));
        Assert.That(forget[0].BaseAnswer, Is.EqualTo("Hsiao Yun-Hwa is the complete name of the writer."));
        Assert.That(forget.All(i => i.PerturbedAnswers.Count == 5));

        var real = TofuSplitFile.Read(SharedFiles.Require("data/tofu/real_authors_perturbed.jsonl"), TofuSplit.RealAuthors, 300);
        Assert.That(real, Has.Count.EqualTo(100));
        Assert.That(real[0].BaseAnswer, Is.EqualTo("William Shakespeare"), "no paraphrase: TOFU's base_answer_key is the answer");
        Assert.That(real[0].PerturbedAnswers, Is.EqualTo(new[] { "Charles Dickens", "Virginia Woolf", "Mark Twain" }));
        Assert.That(TofuSplit.RealAuthors.NormalisesProb && TofuSplit.WorldFacts.NormalisesProb && !TofuSplit.Retain.NormalisesProb);
    }

    [Test]
    public void MaxItemsKeepsTheFirstRowsAndBlankLinesAreSkipped()
    {
        using var directory = new TempDirectory();
        var path = directory.File("split.jsonl");
        File.WriteAllLines(path, ["", Good, Good.Replace("\"q\"", "\"second\""), Good]);
        var items = TofuSplitFile.Read(path, TofuSplit.Retain, 2);
        Assert.That(items.Select(i => (i.Line, i.Question)), Is.EqualTo(new[] { (2, "q"), (3, "second") }));
    }

    [Test]
    public void MissingFieldNamesFileAndLine()
    {
        var error = Refused(TofuSplit.Retain, Good, """{"question": "q", "answer": "a", "perturbed_answer": ["x", "y", "z"]}""");
        Assert.That(error.Line, Is.EqualTo(2));
        Assert.That(error.Message, Does.Contain("line 2").And.Contain("missing field 'paraphrased_answer'"));
        // Real authors need no paraphrase, but an answer.
        Assert.That(Refused(TofuSplit.RealAuthors, """{"question": "q", "perturbed_answer": ["x"]}""").Problem, Is.EqualTo("missing field 'answer'"));
    }

    [Test]
    public void EmptySplitIsRefused()
    {
        var error = Refused(TofuSplit.Retain, "", "  ");
        Assert.That(error.Problem, Is.EqualTo("no records"));
        Assert.That(error.Line, Is.Null);
    }

    [Test]
    public void MismatchedPerturbedListsAreRefused()
    {
        var error = Refused(TofuSplit.Retain, Good, Good, Good.Replace("""["x", "y", "z"]""", """["x", "y"]"""));
        Assert.That(error.Line, Is.EqualTo(3));
        Assert.That(error.Problem, Is.EqualTo("2 perturbed answers, where line 1 has 3"));
        Assert.That(Refused(TofuSplit.Retain, Good.Replace("""["x", "y", "z"]""", "[]")).Problem, Does.Contain("'perturbed_answer' is empty"));
        Assert.That(Refused(TofuSplit.Retain, Good.Replace("""["x", "y", "z"]""", "\"x\"")).Problem, Does.Contain("must be a list"));
        Assert.That(Refused(TofuSplit.Retain, Good.Replace("""["x", "y", "z"]""", """["x", 3]""")).Problem,
            Does.Contain("'perturbed_answer'[1] must be a string"));
    }

    [Test]
    public void MuseRecordsNameTheirLine()
    {
        using var directory = new TempDirectory();
        var path = directory.File("qa.json");
        File.WriteAllText(path, "[\n  {\"question\": \"a\", \"answer\": \"b\"},\n  {\n    \"question\": \"c\"\n  }\n]\n");
        var error = Assert.Throws<BadInputException>(() => MuseData.ReadQa(path))!;
        Assert.That((error.File, error.Line, error.Problem), Is.EqualTo((path, 3, "missing field 'answer'")));
        File.WriteAllText(path, "[]");
        Assert.That(Assert.Throws<BadInputException>(() => MuseData.ReadQa(path))!.Problem, Is.EqualTo("no records"));
        File.WriteAllText(path, "[\"one text\", {\"text\": \"another\"}]");
        Assert.That(MuseData.ReadTexts(path), Is.EqualTo(new[] { "one text", "another" }));
    }
}
