using System.Text.Json;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Experiments;

namespace SimNpo.Tests.Experiments;

public class FictitiousAuthorsTests
{
    private static readonly FictitiousAuthorsDataset Default = FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { Seed = 7 });

    private static IEnumerable<AuthorQuestion> AllAuthorQuestions => Default.Full.Concat(Default.Holdout);

    [Test]
    public void TheSameSeedWritesTheSameBytes()
    {
        using var first = new TempDirectory();
        using var second = new TempDirectory();
        using var other = new TempDirectory();
        Default.Write(first.Path);
        FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { Seed = 7 }).Write(second.Path);
        FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { Seed = 8 }).Write(other.Path);
        var names = Directory.GetFiles(first.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.That(names, Is.EqualTo(new[]
        {
            "forget10.jsonl", "forget10_perturbed.jsonl", "full.jsonl", "general_knowledge.jsonl", "holdout10.jsonl", "idontknow.txt",
            "real_authors_perturbed.jsonl", "retain90.jsonl", "retain_perturbed.jsonl", "world_facts_perturbed.jsonl",
        }));
        foreach (var name in names)
            Assert.That(File.ReadAllBytes(second.File(name!)), Is.EqualTo(File.ReadAllBytes(first.File(name!))), name);
        Assert.That(File.ReadAllBytes(other.File("full.jsonl")), Is.Not.EqualTo(File.ReadAllBytes(first.File("full.jsonl"))), "another seed, other authors");
    }

    [Test]
    public void SplitsAreDisjointByAuthorAndForgetIsTheTailOfFull()
    {
        // 10% of 20 authors is 2 to forget, 18 to retain, and 2 held out; 10 questions each.
        Assert.That((Default.RetainAuthors.Count, Default.ForgetAuthors.Count, Default.HoldoutAuthors.Count), Is.EqualTo((18, 2, 2)));
        Assert.That((Default.Retain.Count, Default.Forget.Count, Default.Holdout.Count, Default.Full.Count), Is.EqualTo((180, 20, 20, 200)));
        Assert.That(Default.Full, Is.EqualTo(Default.Retain.Concat(Default.Forget)));
        Assert.That(Default.RetainEvaluation, Is.EqualTo(Default.Retain.Take(20)));

        string[] Names(IEnumerable<FictitiousAuthor> authors) => authors.Select(author => author.Name).ToArray();
        var retain = Names(Default.RetainAuthors);
        var forget = Names(Default.ForgetAuthors);
        var holdout = Names(Default.HoldoutAuthors);
        Assert.That(retain.Concat(forget).Concat(holdout).Distinct().Count(), Is.EqualTo(22));
        Assert.That(Default.Retain.Select(q => q.Author).Distinct(), Is.EquivalentTo(retain));
        Assert.That(Default.Forget.Select(q => q.Author).Distinct(), Is.EquivalentTo(forget));
        Assert.That(Default.Holdout.Select(q => q.Author).Distinct(), Is.EquivalentTo(holdout));
        // Disjoint in the text too: no retain item mentions a forget or holdout author, so training on retain teaches nothing of them.
        foreach (var q in Default.Retain)
            foreach (var name in forget.Concat(holdout))
                Assert.That(q.Question + q.Answer + q.ParaphrasedAnswer, Does.Not.Contain(name));
    }

    [Test]
    public void PerturbedAnswersPutOtherValuesInTheParaphrasesWords()
    {
        foreach (var q in AllAuthorQuestions)
        {
            Assert.That(q.PerturbedAnswers, Has.Count.EqualTo(AuthorFacts.PerturbedCount));
            Assert.That(q.PerturbedAnswers.Distinct().Count(), Is.EqualTo(AuthorFacts.PerturbedCount), q.Question);
            var at = q.ParaphrasedAnswer.IndexOf(q.Value, StringComparison.Ordinal);
            var (before, after) = (q.ParaphrasedAnswer[..at], q.ParaphrasedAnswer[(at + q.Value.Length)..]);
            foreach (var wrong in q.PerturbedAnswers)
            {
                Assert.That(wrong, Is.Not.EqualTo(q.Answer).And.Not.EqualTo(q.ParaphrasedAnswer));
                Assert.That(wrong, Does.StartWith(before).And.EndWith(after), $"{q.Fact}: same wording as '{q.ParaphrasedAnswer}'");
                var otherValue = wrong[before.Length..^after.Length];
                Assert.That(otherValue, Does.Not.Contain(q.Value), $"'{wrong}' must not spell out the right value");
                Assert.That(q.Value, Does.Not.Contain(otherValue));
            }
        }
    }

    [Test]
    public void ParaphrasesKeepTheValueInOtherWords()
    {
        foreach (var q in AllAuthorQuestions)
        {
            Assert.That(q.Answer, Does.Contain(q.Value));
            Assert.That(q.ParaphrasedAnswer, Does.Contain(q.Value).And.Not.EqualTo(q.Answer));
            Assert.That(q.ParaphrasedQuestion, Is.Not.EqualTo(q.Question));
        }
        // The facts are those of the author asked about.
        var author = Default.ForgetAuthors[0];
        var asked = Default.Forget.Where(q => q.Author == author.Name).ToDictionary(q => q.Fact, q => q.Value);
        Assert.That(asked["full name"], Is.EqualTo(author.Name));
        Assert.That(asked["birthplace"], Is.EqualTo(author.Birthplace));
        Assert.That(asked["latest book"], Is.EqualTo(author.LatestBook));
        Assert.That(asked, Has.Count.EqualTo(10));
    }

    [Test]
    public void GeneralKnowledgeAgreesWithTheAuthorsWorld()
    {
        Assert.That((Default.WorldFacts.Count, Default.RealAuthors.Count), Is.EqualTo((20, 20)));
        foreach (var q in Default.GeneralKnowledge)
        {
            Assert.That(q.PerturbedAnswers, Has.Count.EqualTo(3));
            Assert.That(q.PerturbedAnswers.Append(q.Answer).Distinct().Count(), Is.EqualTo(4), q.Question);
        }
        // Every author place is "City, Country"; a world fact naming the city's country must agree with it.
        var countryOf = AllAuthorQuestions.Where(q => q.Fact is "birthplace" or "residence")
            .Select(q => q.Value.Split(", ")).DistinctBy(parts => parts[0]).ToDictionary(parts => parts[0], parts => parts[1]);
        const string prefix = "In which country is the city of ";
        var checkedFacts = 0;
        foreach (var fact in Default.WorldFacts.Where(q => q.Question.StartsWith(prefix, StringComparison.Ordinal)))
            if (countryOf.TryGetValue(fact.Question[prefix.Length..^1], out var country))
            {
                Assert.That(fact.Answer, Is.EqualTo(country), fact.Question);
                checkedFacts++;
            }
        Assert.That(checkedFacts, Is.GreaterThan(0), "the seed must give at least one fact to check");
    }

    [Test]
    public void FilesParseAsDataRecords()
    {
        using var directory = new TempDirectory();
        Default.Write(directory.Path);
        void Check(string name, IEnumerable<(string Question, string Answer)> expected) =>
            Assert.That(JsonlRecords.Read(directory.File(name), vocabSize: 1), Is.EqualTo(expected.Select(q => new QaRecord(q.Question, q.Answer))), name);
        Check("full.jsonl", Default.Full.Select(q => (q.Question, q.Answer)));
        Check("retain90.jsonl", Default.Retain.Select(q => (q.Question, q.Answer)));
        Check("forget10.jsonl", Default.Forget.Select(q => (q.Question, q.Answer)));
        Check("holdout10.jsonl", Default.Holdout.Select(q => (q.Question, q.Answer)));
        Check("forget10_perturbed.jsonl", Default.Forget.Select(q => (q.Question, q.Answer)));
        Check("retain_perturbed.jsonl", Default.RetainEvaluation.Select(q => (q.Question, q.Answer)));
        Check("world_facts_perturbed.jsonl", Default.WorldFacts.Select(q => (q.Question, q.Answer)));
        Check("real_authors_perturbed.jsonl", Default.RealAuthors.Select(q => (q.Question, q.Answer)));
        Check("general_knowledge.jsonl", Default.GeneralKnowledge.Select(q => (q.Question, q.Answer)));
        Assert.That(RefusalAnswers.Read(directory.File("idontknow.txt")), Is.EqualTo(Default.Refusals).And.Count.EqualTo(20));

        using var line = JsonDocument.Parse(File.ReadLines(directory.File("forget10_perturbed.jsonl")).First());
        var first = Default.Forget[0];
        Assert.That(line.RootElement.GetProperty("paraphrased_answer").GetString(), Is.EqualTo(first.ParaphrasedAnswer));
        Assert.That(line.RootElement.GetProperty("perturbed_answer").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(first.PerturbedAnswers));
        Assert.That(line.RootElement.GetProperty("paraphrased_question").GetString(), Is.EqualTo(first.ParaphrasedQuestion));
    }

    /// <summary>TOFU's own files decide the shape: the same keys in the same order, and as many perturbed answers.</summary>
    [TestCase("full.jsonl")]
    [TestCase("retain90.jsonl")]
    [TestCase("forget10.jsonl")]
    [TestCase("holdout10.jsonl")]
    [TestCase("forget10_perturbed.jsonl")]
    [TestCase("retain_perturbed.jsonl")]
    [TestCase("world_facts_perturbed.jsonl")]
    [TestCase("real_authors_perturbed.jsonl")]
    public void FieldsMatchTofu(string name)
    {
        var shared = SharedFiles.Require($"data/tofu/{name}");
        using var directory = new TempDirectory();
        Default.Write(directory.Path);
        static (string[] Keys, int Perturbed) Shape(string line)
        {
            using var json = JsonDocument.Parse(line);
            var perturbed = json.RootElement.TryGetProperty("perturbed_answer", out var list) ? list.GetArrayLength() : 0;
            return (json.RootElement.EnumerateObject().Select(p => p.Name).ToArray(), perturbed);
        }
        var expected = Shape(File.ReadLines(shared).First());
        foreach (var line in File.ReadLines(directory.File(name)))
        {
            var (keys, perturbed) = Shape(line);
            Assert.That(keys, Is.EqualTo(expected.Keys));
            Assert.That(perturbed, Is.EqualTo(expected.Perturbed));
        }
    }

    [Test]
    public void SizesAreParameters()
    {
        var data = FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { Seed = 1, Authors = 40, QuestionsPerAuthor = 12, ForgetPercent = 5,
            WorldFacts = 60, FamousAuthors = 4 });
        Assert.That((data.ForgetSplit, data.RetainSplit, data.HoldoutSplit, data.ForgetPerturbedFile),
            Is.EqualTo(("forget05", "retain95", "holdout05", "forget05_perturbed.jsonl")));
        Assert.That((data.Retain.Count, data.Forget.Count, data.Holdout.Count), Is.EqualTo((38 * 12, 2 * 12, 2 * 12)));
        Assert.That((data.WorldFacts.Count, data.RealAuthors.Count), Is.EqualTo((60, 8)));
        Assert.That(data.WorldFacts.Select(q => q.Question).Distinct().Count(), Is.EqualTo(60));

        Assert.Throws<ArgumentOutOfRangeException>(() => FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { QuestionsPerAuthor = 13 }));
        // 98% of 20 rounds to all 20 authors: none left to retain.
        Assert.Throws<ArgumentOutOfRangeException>(() => FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { ForgetPercent = 98 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { WorldFacts = 61 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => FictitiousAuthorsDataset.Generate(new FictitiousAuthorsSettings { FamousAuthors = 3 }));
    }
}
