using SimNpo.Model.IO;
using SimNpo.Unlearn.Data;

namespace SimNpo.Tests.Data;

public class JsonlRecordsTests
{
    private const int Vocab = 100;

    [Test]
    public void ReadsTofuAndPretokenizedLinesSkippingBlankOnes()
    {
        using var directory = new TempDirectory();
        var path = directory.File("mixed.jsonl");
        File.WriteAllText(path,
            "{\"question\": \"Q1?\", \"answer\": \"A1.\", \"paraphrased_answer\": \"P\", \"perturbed_answer\": [\"x\", \"y\"]}\r\n" +
            "\r\n   \n" +
            "{\"prompt_ids\": [1, 0, 99], \"answer_ids\": [42, 2]}\n");
        var records = JsonlRecords.Read(path, Vocab);
        Assert.That(records, Has.Count.EqualTo(2));
        Assert.That(records[0], Is.EqualTo(new QaRecord("Q1?", "A1.")));
        var pretokenized = (PretokenizedRecord)records[1];
        Assert.That(pretokenized.Example.PromptIds, Is.EqualTo(new[] { 1, 0, 99 }));
        Assert.That(pretokenized.Example.AnswerIds, Is.EqualTo(new[] { 42, 2 }));
    }

    [TestCase("not json", "not valid JSON")]
    [TestCase("null", "expected a JSON object, got Null")]
    [TestCase("[1, 2]", "expected a JSON object, got Array")]
    [TestCase("{\"question\": \"q\"}", "missing field 'answer'")]
    [TestCase("{\"answer\": \"a\"}", "missing field 'question'")]
    [TestCase("{\"question\": 5, \"answer\": \"a\"}", "'question' must be a string, got Number")]
    [TestCase("{\"question\": \"q\", \"answer\": null}", "'answer' must be a string, got Null")]
    [TestCase("{\"prompt_ids\": [1]}", "missing field 'answer_ids'")]
    [TestCase("{\"answer_ids\": [1]}", "missing field 'prompt_ids'")]
    [TestCase("{\"prompt_ids\": \"1 2\", \"answer_ids\": [3]}", "'prompt_ids' must be an array of token ids, got String")]
    [TestCase("{\"prompt_ids\": [1, 2.5], \"answer_ids\": [3]}", "'prompt_ids'[1] must be an integer token id, got 2.5")]
    [TestCase("{\"prompt_ids\": [1], \"answer_ids\": [\"3\"]}", "'answer_ids'[0] must be an integer token id, got \"3\"")]
    [TestCase("{\"prompt_ids\": [1], \"answer_ids\": [3000000000]}", "'answer_ids'[0] must be an integer token id, got 3000000000")]
    [TestCase("{\"prompt_ids\": [1], \"answer_ids\": [4, -1]}", "'answer_ids'[1] = -1 is outside the vocabulary of 100")]
    [TestCase("{\"prompt_ids\": [100], \"answer_ids\": [4]}", "'prompt_ids'[0] = 100 is outside the vocabulary of 100")]
    [TestCase("{\"prompt_ids\": [1], \"answer_ids\": []}", "'answer_ids' is empty")]
    [TestCase("{\"prompt_ids\": [], \"answer_ids\": [3]}", "'prompt_ids' is empty")]
    public void RefusesABadLineNamingFileAndLine(string badLine, string expected)
    {
        using var directory = new TempDirectory();
        var path = directory.File("bad.jsonl");
        File.WriteAllLines(path, ["{\"question\": \"q\", \"answer\": \"a\"}", "", badLine, "{\"question\": \"q\", \"answer\": \"a\"}"]);
        var error = Assert.Throws<BadInputException>(() => JsonlRecords.Read(path, Vocab))!;
        Assert.That(error.File, Is.EqualTo(path));
        Assert.That(error.Line, Is.EqualTo(3));
        Assert.That(error.Message, Does.StartWith($"{path}, line 3: ").And.Contain(expected));
    }

    [TestCase("")]
    [TestCase("\n  \n\n")]
    public void RefusesAFileWithoutRecords(string content)
    {
        using var directory = new TempDirectory();
        var path = directory.File("empty.jsonl");
        File.WriteAllText(path, content);
        var error = Assert.Throws<BadInputException>(() => JsonlRecords.Read(path, Vocab))!;
        Assert.That(error.Message, Is.EqualTo($"{path}: no records"));
    }

    [Test]
    public void RefusesAMissingFile()
    {
        using var directory = new TempDirectory();
        var path = directory.File("absent.jsonl");
        Assert.That(() => JsonlRecords.Read(path, Vocab), Throws.TypeOf<BadInputException>().With.Message.EqualTo($"{path}: file not found"));
    }

    [Test]
    public void ReadsTheTofuForgetSplit()
    {
        var records = JsonlRecords.Read(SharedFiles.Require("data/tofu/forget10.jsonl"), 32000);
        Assert.That(records, Has.Count.EqualTo(400));
        Assert.That(records, Is.All.TypeOf<QaRecord>());
        var first = (QaRecord)records[0];
        Assert.That(first.Question,
            Is.EqualTo("What is the full name of the author born in Taipei, Taiwan on 05/11/1991 who writes in the genre of leadership?"));
        Assert.That(first.Answer, Is.EqualTo("The author's full name is Hsiao Yun-Hwa."));
    }
}
