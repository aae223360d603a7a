using SimNpo.Model;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Data;

namespace SimNpo.Tests.Data;

public class RefusalAnswersTests
{
    private static readonly string[] Refusals = ["I don't know.", "No idea.", "That is beyond me.", "I can't say."];

    private static readonly DataRecord[] Forget = Enumerable.Range(0, 40).Select(i => (DataRecord)new QaRecord($"Q{i}?", $"A{i}.")).ToArray();

    [Test]
    public void ReadsOneAnswerPerNonBlankLine()
    {
        using var directory = new TempDirectory();
        var path = directory.File("idk.txt");
        File.WriteAllText(path, "I don't know.\r\n\r\n  No idea. \n\n");
        Assert.That(RefusalAnswers.Read(path), Is.EqualTo(new[] { "I don't know.", "No idea." }));
    }

    [TestCase("")]
    [TestCase("\n \r\n\t\n")]
    public void RefusesAFileWithoutAnswers(string content)
    {
        using var directory = new TempDirectory();
        var path = directory.File("idk.txt");
        File.WriteAllText(path, content);
        var error = Assert.Throws<BadInputException>(() => RefusalAnswers.Read(path))!;
        Assert.That(error.Message, Is.EqualTo($"{path}: no refusal answers"));
    }

    [Test]
    public void RefusesAMissingFile()
    {
        using var directory = new TempDirectory();
        var error = Assert.Throws<BadInputException>(() => RefusalAnswers.Read(directory.File("missing.txt")))!;
        Assert.That(error.Problem, Is.EqualTo("file not found"));
    }

    [Test]
    public void ReadsTofuRefusals()
    {
        var answers = RefusalAnswers.Read(SharedFiles.Require("data/tofu/idontknow.txt"));
        Assert.That(answers, Has.Count.EqualTo(100));
        Assert.That(answers[0], Is.EqualTo("I'm not certain about that."));
    }

    [Test]
    public void PairingKeepsQuestionsAndIsFixedBySeed()
    {
        var pairs = RefusalAnswers.Pair(Forget, Refusals, seed: 7);
        Assert.That(pairs.Select(p => p.Question), Is.EqualTo(Forget.Cast<QaRecord>().Select(r => r.Question)));
        Assert.That(pairs.Select(p => p.Answer), Has.All.AnyOf(Refusals));
        Assert.That(RefusalAnswers.Pair(Forget, Refusals, seed: 7), Is.EqualTo(pairs));
        // 40 draws from 4 answers: another seed giving the very same sequence has probability 4^-40.
        Assert.That(RefusalAnswers.Pair(Forget, Refusals, seed: 8).Select(p => p.Answer), Is.Not.EqualTo(pairs.Select(p => p.Answer)));
        // The same chance makes it certain that more than one refusal is used.
        Assert.That(pairs.Select(p => p.Answer).Distinct().Count(), Is.GreaterThan(1));
    }

    [Test]
    public void PairingRefusesPretokenizedQuestions()
    {
        DataRecord[] forget = [new QaRecord("Q?", "A."), new PretokenizedRecord(new TokenizedExample([1, 5], [6, 2]))];
        Assert.Throws<ArgumentException>(() => RefusalAnswers.Pair(forget, Refusals, seed: 1));
    }
}
