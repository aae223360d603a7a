namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// What a pretrained model would know before it meets the fictitious authors: facts of the invented world and the
/// works of famous (equally invented) authors. TOFU measures whether unlearning keeps such knowledge; a model trained
/// from scratch has to be taught it first, so the target and retain models are trained on it along with the authors.
/// </summary>
internal static class GeneralFacts
{
    /// <summary>Wrong answers per question, as in TOFU's world_facts and real_authors files.</summary>
    public const int PerturbedCount = 3;

    /// <summary>PerturbedCount values of the answer's kind other than the answer, in random order.</summary>
    public static string[] WrongAnswers(string answer, IReadOnlyList<string> kind, Random random)
    {
        var others = kind.Where(value => value != answer).ToArray();
        if (others.Length < PerturbedCount) throw new InvalidOperationException($"only {others.Length} wrong answers of the kind of '{answer}'");
        random.Shuffle(others);
        return others[..PerturbedCount];
    }

    /// <summary>A random choice of count world facts.</summary>
    public static IReadOnlyList<GeneralQuestion> WorldFacts(InventedWorld world, int count, Random random)
    {
        var facts = world.Facts(random).ToArray();
        random.Shuffle(facts);
        return facts[..count];
    }

    /// <summary>Two questions per famous author, one per famous work; the wrong answers are other famous authors.</summary>
    public static IReadOnlyList<GeneralQuestion> FamousAuthors(NameForge forge, int count)
    {
        var authors = Enumerable.Range(0, count).Select(_ => (Name: forge.Person(), Works: new[] { forge.Title(), forge.Title() })).ToArray();
        var names = authors.Select(author => author.Name).ToArray();
        return authors.SelectMany(author => new[]
        {
            new GeneralQuestion($"Who wrote \"{author.Works[0]}\"?", author.Name, WrongAnswers(author.Name, names, forge.Random)),
            new GeneralQuestion($"Which writer is celebrated for the book \"{author.Works[1]}\"?", author.Name, WrongAnswers(author.Name, names, forge.Random)),
        }).ToArray();
    }
}
