namespace SimNpo.Unlearn.Experiments;

/// <summary>What kind of value a fact holds: a wrong answer is another value of the same kind.</summary>
public enum FactKind { Name, Place, Date, Genre, Occupation, Award, Title, Theme }

/// <summary>
/// One fact an author can be asked about, in four wordings: the question, the answer, the answer paraphrased, and the
/// question paraphrased. The answers take the value as an argument so that wrong values can be put in the same words.
/// </summary>
public sealed record AuthorFact(
    string Name,
    FactKind Kind,
    Func<FictitiousAuthor, string> Value,
    Func<FictitiousAuthor, string> Question,
    Func<FictitiousAuthor, string> ParaphrasedQuestion,
    Func<string, string, string> Answer,
    Func<string, string, string> Paraphrase);

/// <summary>The questions the generator asks, in order: an author with N questions is asked the first N.</summary>
public static class AuthorFacts
{
    /// <summary>Wrong answers per question, as in TOFU's perturbed files.</summary>
    public const int PerturbedCount = 5;

    /// <summary>Answer and Paraphrase take (author name, value).</summary>
    public static readonly IReadOnlyList<AuthorFact> All =
    [
        new("full name", FactKind.Name, a => a.Name,
            a => $"What is the full name of the author born in {a.Birthplace} on {a.BirthDate} who writes {a.Genre}?",
            a => $"Which writer of {a.Genre} was born on {a.BirthDate} in {a.Birthplace}?",
            (_, v) => $"The author's full name is {v}.",
            (_, v) => $"{v} is the name of that writer."),
        new("birthplace", FactKind.Place, a => a.Birthplace,
            a => $"Where was {a.Name} born?",
            a => $"What is the birthplace of {a.Name}?",
            (n, v) => $"{n} was born in {v}.",
            (n, v) => $"The city where {n} was born is {v}."),
        new("birth date", FactKind.Date, a => a.BirthDate,
            a => $"When was {a.Name} born?",
            a => $"On what date was {a.Name} born?",
            (n, v) => $"{n} was born on {v}.",
            (n, v) => $"The birthday of {n} is {v}."),
        new("genre", FactKind.Genre, a => a.Genre,
            a => $"What genre does {a.Name} write in?",
            a => $"Which kind of books is {a.Name} known for?",
            (n, v) => $"{n} writes {v}.",
            (n, v) => $"{n} is best known as an author of {v}."),
        new("father's occupation", FactKind.Occupation, a => a.FatherOccupation,
            a => $"What did {a.Name}'s father do for a living?",
            a => $"What was the profession of {a.Name}'s father?",
            (n, v) => $"{n}'s father worked as {v}.",
            (n, v) => $"The father of {n} earned his living as {v}."),
        new("mother's occupation", FactKind.Occupation, a => a.MotherOccupation,
            a => $"What was the occupation of {a.Name}'s mother?",
            a => $"How did {a.Name}'s mother make her living?",
            (n, v) => $"{n}'s mother was {v}.",
            (n, v) => $"By profession, the mother of {n} was {v}."),
        new("award", FactKind.Award, a => a.Award,
            a => $"Which award has {a.Name} received?",
            a => $"What prize was given to {a.Name}?",
            (n, v) => $"{n} received the {v}.",
            (n, v) => $"The {v} was awarded to {n}."),
        new("first book", FactKind.Title, a => a.FirstBook,
            a => $"What was the first book {a.Name} published?",
            a => $"Which title marked the debut of {a.Name}?",
            (n, v) => $"{n}'s first book was \"{v}\".",
            (n, v) => $"\"{v}\" was the debut of {n}."),
        new("latest book", FactKind.Title, a => a.LatestBook,
            a => $"What is the most recent novel by {a.Name}?",
            a => $"Which book did {a.Name} publish last?",
            (n, v) => $"The most recent novel by {n} is \"{v}\".",
            (n, v) => $"{n}'s latest book is called \"{v}\"."),
        new("theme", FactKind.Theme, a => a.Theme,
            a => $"What theme runs through the work of {a.Name}?",
            a => $"Which subject does {a.Name} return to again and again?",
            (n, v) => $"The work of {n} often explores {v}.",
            (n, v) => $"{n} keeps writing about {v}."),
        new("residence", FactKind.Place, a => a.Residence,
            a => $"Where does {a.Name} live today?",
            a => $"In which city is {a.Name} living now?",
            (n, v) => $"{n} lives in {v}.",
            (n, v) => $"{n} now makes a home in {v}."),
        new("mentor", FactKind.Name, a => a.Mentor,
            a => $"Who was the mentor of {a.Name}?",
            a => $"Which writer guided {a.Name} early on?",
            (n, v) => $"{n} was mentored by {v}.",
            (n, v) => $"{v} guided {n} as a mentor."),
    ];
}
