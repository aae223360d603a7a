namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// The size of a generated fictitious-author set. The defaults (20 authors × 10 questions) are small enough for a tiny
/// Llama to memorise on 2 CPU cores in a couple of minutes; TOFU itself has 200 × 20.
/// </summary>
public sealed record FictitiousAuthorsSettings
{
    public int Seed { get; init; }

    /// <summary>Authors the target model is trained on: retain and forget together (holdout authors come on top).</summary>
    public int Authors { get; init; } = 20;

    /// <summary>At most AuthorFacts.All.Count; the first facts in that list are asked.</summary>
    public int QuestionsPerAuthor { get; init; } = 10;

    /// <summary>The share of authors to forget; it names the files (forget10, retain90, holdout10) as in TOFU.</summary>
    public int ForgetPercent { get; init; } = 10;

    public int WorldFacts { get; init; } = 20;

    /// <summary>Invented "real" authors; each has two famous works, so twice as many questions.</summary>
    public int FamousAuthors { get; init; } = 10;

    /// <summary>Round(Authors × ForgetPercent / 100), at least one author and at least one left to retain.</summary>
    public int ForgetAuthors => Math.Max(1, (int)Math.Round(Authors * ForgetPercent / 100.0, MidpointRounding.AwayFromZero));

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Authors, 2, nameof(Authors));
        ArgumentOutOfRangeException.ThrowIfLessThan(QuestionsPerAuthor, 1, nameof(QuestionsPerAuthor));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(QuestionsPerAuthor, AuthorFacts.All.Count, nameof(QuestionsPerAuthor));
        ArgumentOutOfRangeException.ThrowIfLessThan(ForgetPercent, 1, nameof(ForgetPercent));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ForgetPercent, 99, nameof(ForgetPercent));
        if (ForgetAuthors >= Authors)
            throw new ArgumentOutOfRangeException(nameof(ForgetPercent), $"{ForgetPercent}% of {Authors} authors leaves none to retain");
        ArgumentOutOfRangeException.ThrowIfLessThan(WorldFacts, 1, nameof(WorldFacts));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(WorldFacts, InventedWorld.FactCount, nameof(WorldFacts));
        // Each famous author's question needs three others as its wrong answers.
        ArgumentOutOfRangeException.ThrowIfLessThan(FamousAuthors, GeneralFacts.PerturbedCount + 1, nameof(FamousAuthors));
    }
}
