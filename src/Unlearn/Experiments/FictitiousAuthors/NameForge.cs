namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// Invents names from syllables and titles from word lists, and hands out each at most once across people, places and
/// books, so that a name identifies one thing: a question about it has one right answer.
/// </summary>
internal sealed class NameForge(Random random)
{
    private const int Attempts = 10_000;

    private readonly HashSet<string> taken = new(StringComparer.Ordinal);

    public Random Random { get; } = random;

    public string Person() => Unique(() => $"{Word(2, 3)} {Word(1, 2)}{Pick(WordLists.SurnameEndings)}");

    public string City() => Unique(() => Word(1, 2) + Pick(WordLists.CityEndings));

    public string Country() => Unique(() => Word(1, 2) + Pick(WordLists.CountryEndings));

    public string River() => Unique(() => Word(2, 2) + " River");

    public string Planet() => Unique(() => Word(2, 3) + "is");

    public string Moon() => Unique(() => Word(2, 2));

    public string Title() => Unique(() => Random.Next(5) switch
    {
        0 => $"The {Pick(WordLists.TitleAdjectives)} {Pick(WordLists.TitleNouns)}",
        1 => $"The {Pick(WordLists.TitleNouns)} of {Pick(WordLists.TitlePlurals)}",
        2 => $"Where the {Pick(WordLists.TitlePlurals)} {Pick(WordLists.TitleVerbs)}",
        3 => $"{Pick(WordLists.TitleAdjectives)} {Pick(WordLists.TitlePlurals)}",
        _ => $"The Last {Pick(WordLists.TitleNouns)} of {Word(1, 2)}{Pick(WordLists.CityEndings)}",
    });

    /// <summary>Not unique: several authors may hold the same award.</summary>
    public string Award() => $"{Pick(WordLists.AwardColours)} {Pick(WordLists.AwardEmblems)} {Pick(WordLists.AwardKinds)}";

    public T Pick<T>(IReadOnlyList<T> list) => list[Random.Next(list.Count)];

    /// <summary>A capitalised run of min..max syllables.</summary>
    private string Word(int min, int max)
    {
        var word = string.Concat(Enumerable.Range(0, Random.Next(min, max + 1)).Select(_ => Pick(WordLists.Syllables)));
        return char.ToUpperInvariant(word[0]) + word[1..];
    }

    private string Unique(Func<string> make)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
            if (make() is var name && taken.Add(name)) return name;
        throw new InvalidOperationException($"no new name after {Attempts} attempts: the word lists are too small for this many");
    }
}
