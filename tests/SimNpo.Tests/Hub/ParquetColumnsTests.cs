using SimNpo.Model.IO;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Evaluation;

namespace SimNpo.Tests.Hub;

/// <summary>The Parquet reader behind MUSE's Hub data sets, on files of known rows.</summary>
public class ParquetColumnsTests
{
    [Test]
    public void RowsOfEveryRowGroupComeBackInOrderWithTheAskedColumns()
    {
        using var folder = new TempDirectory();
        var path = folder.File("knowmem.parquet");
        File.WriteAllBytes(path, ParquetFixtures.Strings(["answer", "question"],
            [["Paris", "Capital of France?"], ["4", "2 + 2?"]], [["Ünïcode ✓", "Which text?"]]));
        Assert.That(ParquetColumns.ReadStrings(path, "question", "answer"),
            Is.EqualTo(new[] { new[] { "Capital of France?", "Paris" }, ["2 + 2?", "4"], ["Which text?", "Ünïcode ✓"] }));
        Assert.That(MuseData.ReadQa(path), Is.EqualTo(new[] { new QuestionAnswer("Capital of France?", "Paris"), new("2 + 2?", "4"),
            new("Which text?", "Ünïcode ✓") }));
    }

    [Test]
    public void AMissingColumnANullAndAFileThatIsNotParquetAreNamed()
    {
        using var folder = new TempDirectory();
        var path = folder.File("texts.parquet");
        File.WriteAllBytes(path, ParquetFixtures.Strings(["text"], [["one"], [null]]));
        var missing = Assert.Throws<BadInputException>(() => ParquetColumns.ReadStrings(path, "prompt"))!;
        Assert.That(missing.Message, Is.EqualTo($"{path}: no column 'prompt' (columns: text)"));
        Assert.That(Assert.Throws<BadInputException>(() => MuseData.ReadTexts(path))!.Message, Is.EqualTo($"{path}: row 2: 'text' is null"));
        File.WriteAllText(path, "not parquet at all");
        Assert.That(Assert.Throws<BadInputException>(() => ParquetColumns.ReadStrings(path, "text"))!.Message,
            Does.StartWith($"{path}: not a readable Parquet file"));
    }
}
