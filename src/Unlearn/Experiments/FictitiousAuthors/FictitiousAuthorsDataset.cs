using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SimNpo.Model.IO;

namespace SimNpo.Unlearn.Experiments;

/// <summary>
/// A TOFU-shaped benchmark generated from the project's own templates and word lists, fixed by a seed: authors split
/// into retain and forget (the last authors, as TOFU's forget rows are the last rows of full), holdout authors never
/// trained on, and general knowledge (world facts, famous authors) that unlearning should leave alone. Written with
/// TOFU's file names and fields, so the TOFU evaluation reads it unchanged.
/// </summary>
public sealed class FictitiousAuthorsDataset
{
    public const string FullFile = "full.jsonl";
    public const string RetainPerturbedFile = "retain_perturbed.jsonl";
    public const string WorldFactsFile = "world_facts_perturbed.jsonl";
    public const string RealAuthorsFile = "real_authors_perturbed.jsonl";
    public const string RefusalsFile = "idontknow.txt";

    /// <summary>
    /// Not a TOFU file: the world facts and famous-author questions as question/answer pairs. TOFU's model knows them
    /// from pretraining; a model trained from scratch must be trained on this file together with full or retainXX.
    /// </summary>
    public const string GeneralKnowledgeFile = "general_knowledge.jsonl";

    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <param name="questions">questions[i] are those about authors[i].</param>
    private FictitiousAuthorsDataset(FictitiousAuthorsSettings settings, FictitiousAuthor[] authors, AuthorQuestion[][] questions,
        IReadOnlyList<GeneralQuestion> worldFacts, IReadOnlyList<GeneralQuestion> realAuthors)
    {
        Settings = settings;
        var retain = settings.Authors - settings.ForgetAuthors;
        RetainAuthors = authors[..retain];
        ForgetAuthors = authors[retain..settings.Authors];
        HoldoutAuthors = authors[settings.Authors..];
        Retain = questions[..retain].SelectMany(about => about).ToArray();
        Forget = questions[retain..settings.Authors].SelectMany(about => about).ToArray();
        Holdout = questions[settings.Authors..].SelectMany(about => about).ToArray();
        WorldFacts = worldFacts;
        RealAuthors = realAuthors;
    }

    public static FictitiousAuthorsDataset Generate(FictitiousAuthorsSettings settings)
    {
        settings.Validate();
        var forge = new NameForge(new Random(settings.Seed));
        var world = new InventedWorld(forge);
        var generator = new AuthorGenerator(forge, world);
        // As many holdout authors as forget authors, as TOFU's holdout10 matches forget10.
        var authors = Enumerable.Range(0, settings.Authors + settings.ForgetAuthors).Select(_ => generator.Author()).ToArray();
        var facts = AuthorFacts.All.Take(settings.QuestionsPerAuthor).ToArray();
        var questions = authors.Select(author => facts.Select(fact => generator.Ask(fact, author)).ToArray()).ToArray();
        var worldFacts = GeneralFacts.WorldFacts(world, settings.WorldFacts, forge.Random);
        var realAuthors = GeneralFacts.FamousAuthors(forge, settings.FamousAuthors);
        return new FictitiousAuthorsDataset(settings, authors, questions, worldFacts, realAuthors);
    }

    public FictitiousAuthorsSettings Settings { get; }

    public IReadOnlyList<FictitiousAuthor> RetainAuthors { get; }

    public IReadOnlyList<FictitiousAuthor> ForgetAuthors { get; }

    public IReadOnlyList<FictitiousAuthor> HoldoutAuthors { get; }

    public IReadOnlyList<AuthorQuestion> Retain { get; }

    public IReadOnlyList<AuthorQuestion> Forget { get; }

    public IReadOnlyList<AuthorQuestion> Holdout { get; }

    /// <summary>What the target model is trained on (with the general knowledge): retain, then forget.</summary>
    public IReadOnlyList<AuthorQuestion> Full => [.. Retain, .. Forget];

    /// <summary>retain_perturbed: the first retain authors, as many as are forgotten (TOFU's has forget10's size).</summary>
    public IReadOnlyList<AuthorQuestion> RetainEvaluation => Retain.Take(Forget.Count).ToArray();

    public IReadOnlyList<GeneralQuestion> WorldFacts { get; }

    public IReadOnlyList<GeneralQuestion> RealAuthors { get; }

    public IReadOnlyList<GeneralQuestion> GeneralKnowledge => [.. WorldFacts, .. RealAuthors];

    public IReadOnlyList<string> Refusals => WordLists.Refusals;

    /// <summary>TOFU's split names: forget10, retain90, holdout10 for ForgetPercent = 10.</summary>
    public string ForgetSplit => $"forget{Settings.ForgetPercent:D2}";

    public string RetainSplit => $"retain{100 - Settings.ForgetPercent:D2}";

    public string HoldoutSplit => $"holdout{Settings.ForgetPercent:D2}";

    public string ForgetPerturbedFile => $"{ForgetSplit}_perturbed.jsonl";

    /// <summary>
    /// Every text a model will read or be scored on, as written in the files, for fitting a tokenizer. A model reads
    /// an answer after the template's prefix (" " for Llama-2 chat); fitting to the formatted texts instead makes
    /// " The" one token where these give " " + "The".
    /// </summary>
    public IEnumerable<string> Texts() =>
        Full.Concat(Holdout).SelectMany(q => new[] { q.Question, q.Answer, q.ParaphrasedAnswer, q.ParaphrasedQuestion }.Concat(q.PerturbedAnswers))
            .Concat(GeneralKnowledge.SelectMany(q => new[] { q.Question, q.Answer }.Concat(q.PerturbedAnswers)))
            .Concat(Refusals);

    /// <summary>All files, each through AtomicFile; the bytes depend on the settings alone.</summary>
    public void Write(string directory)
    {
        void Lines(string name, IEnumerable<JsonObject> records) =>
            AtomicFile.WriteAllText(Path.Combine(directory, name), string.Concat(records.Select(record => record.ToJsonString(JsonOptions) + "\n")));

        Lines(FullFile, Full.Select(QuestionAnswer));
        Lines($"{RetainSplit}.jsonl", Retain.Select(QuestionAnswer));
        Lines($"{ForgetSplit}.jsonl", Forget.Select(QuestionAnswer));
        Lines($"{HoldoutSplit}.jsonl", Holdout.Select(QuestionAnswer));
        Lines(ForgetPerturbedFile, Forget.Select(Perturbed));
        Lines(RetainPerturbedFile, RetainEvaluation.Select(Perturbed));
        Lines(WorldFactsFile, WorldFacts.Select(General));
        Lines(RealAuthorsFile, RealAuthors.Select(General));
        Lines(GeneralKnowledgeFile, GeneralKnowledge.Select(q => new JsonObject { ["question"] = q.Question, ["answer"] = q.Answer }));
        AtomicFile.WriteAllText(Path.Combine(directory, RefusalsFile), string.Concat(Refusals.Select(refusal => refusal + "\n")));
    }

    private static JsonObject QuestionAnswer(AuthorQuestion q) => new() { ["question"] = q.Question, ["answer"] = q.Answer };

    private static JsonObject Perturbed(AuthorQuestion q) => new()
    {
        ["question"] = q.Question,
        ["answer"] = q.Answer,
        ["paraphrased_answer"] = q.ParaphrasedAnswer,
        ["perturbed_answer"] = Strings(q.PerturbedAnswers),
        ["paraphrased_question"] = q.ParaphrasedQuestion,
    };

    private static JsonObject General(GeneralQuestion q) => new()
    {
        ["question"] = q.Question,
        ["answer"] = q.Answer,
        ["perturbed_answer"] = Strings(q.PerturbedAnswers),
    };

    private static JsonArray Strings(IEnumerable<string> texts) => new(texts.Select(text => (JsonNode?)text).ToArray());
}
