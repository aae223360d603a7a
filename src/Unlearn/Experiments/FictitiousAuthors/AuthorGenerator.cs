namespace SimNpo.Unlearn.Experiments;

/// <summary>Draws authors and the wrong answers to questions about them, all from one seeded System.Random.</summary>
internal sealed class AuthorGenerator(NameForge forge, InventedWorld world)
{
    private const int Attempts = 10_000;

    public FictitiousAuthor Author()
    {
        var birthplace = Draw(FactKind.Place);
        return new FictitiousAuthor(
            Name: forge.Person(),
            Birthplace: birthplace,
            BirthDate: Draw(FactKind.Date),
            Genre: Draw(FactKind.Genre),
            FatherOccupation: Draw(FactKind.Occupation),
            MotherOccupation: Draw(FactKind.Occupation),
            Award: Draw(FactKind.Award),
            FirstBook: forge.Title(),
            LatestBook: forge.Title(),
            Theme: Draw(FactKind.Theme),
            Residence: DrawOther(FactKind.Place, [birthplace], 1)[0],
            Mentor: forge.Person());
    }

    /// <summary>The question with its paraphrases and AuthorFacts.PerturbedCount wrong answers in the paraphrase's words.</summary>
    public AuthorQuestion Ask(AuthorFact fact, FictitiousAuthor author)
    {
        var value = fact.Value(author);
        // Every value of this kind the author owns is excluded: the latest book is no wrong answer for the first one.
        var owned = AuthorFacts.All.Where(other => other.Kind == fact.Kind).Select(other => other.Value(author)).ToArray();
        var wrong = DrawOther(fact.Kind, owned, AuthorFacts.PerturbedCount);
        return new AuthorQuestion(author.Name, fact.Name, value, fact.Question(author), fact.Answer(author.Name, value),
            fact.Paraphrase(author.Name, value), wrong.Select(other => fact.Paraphrase(author.Name, other)).ToArray(), fact.ParaphrasedQuestion(author));
    }

    private string Draw(FactKind kind) => kind switch
    {
        FactKind.Name => forge.Person(),
        FactKind.Place => forge.Pick(world.Places),
        FactKind.Date => $"{forge.Pick(WordLists.Months)} {forge.Random.Next(1, 29)}, {forge.Random.Next(1930, 2000)}",
        FactKind.Genre => forge.Pick(WordLists.Genres),
        FactKind.Occupation => WithArticle(forge.Pick(WordLists.Occupations)),
        FactKind.Award => forge.Award(),
        FactKind.Title => forge.Title(),
        FactKind.Theme => forge.Pick(WordLists.Themes),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The article belongs to the value, so a wrong answer puts "an astronomer" where "a baker" was.</summary>
    private static string WithArticle(string noun) => ("aeiou".Contains(noun[0]) ? "an " : "a ") + noun;

    /// <summary>
    /// count distinct values of the kind, none of which contains or is contained in an excluded one, so that no wrong
    /// answer spells out the right value (a name inside a longer name, say).
    /// </summary>
    private string[] DrawOther(FactKind kind, IReadOnlyList<string> excluded, int count)
    {
        var values = new List<string>(count);
        for (var attempt = 0; values.Count < count; attempt++)
        {
            if (attempt == Attempts) throw new InvalidOperationException($"cannot find {count} values of kind {kind} other than {string.Join(", ", excluded)}");
            var value = Draw(kind);
            if (!values.Contains(value) && !excluded.Any(own => own.Contains(value, StringComparison.Ordinal) || value.Contains(own, StringComparison.Ordinal)))
                values.Add(value);
        }
        return values.ToArray();
    }
}
