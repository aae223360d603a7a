namespace SimNpo.Unlearn.Methods;

/// <summary>
/// The registry of training methods: every concrete <see cref="TrainingMethod"/> in this assembly, found once by
/// reflection so that a new method needs no list edited anywhere. Commands list and check names from here.
/// </summary>
public static class TrainingMethods
{
    public static IReadOnlyList<TrainingMethod> All { get; } = typeof(TrainingMethod).Assembly.GetTypes()
        .Where(type => type.IsSubclassOf(typeof(TrainingMethod)) && !type.IsAbstract)
        .Select(type => (TrainingMethod)Activator.CreateInstance(type)!)
        .OrderBy(method => method.ListOrder).ThenBy(method => method.Name, StringComparer.Ordinal)
        .ToArray();

    /// <summary>The methods `unlearn` and `tofu` accept (all but plain fine-tuning).</summary>
    public static IReadOnlyList<TrainingMethod> Unlearning { get; } = [.. All.Where(method => method.Unlearns)];

    /// <summary>The methods `grad` differentiates.</summary>
    public static IReadOnlyList<TrainingMethod> Grad { get; } = [.. All.Where(method => method.InGradCommand)];

    public static TrainingMethod? Find(string name) => All.FirstOrDefault(method => method.Name == name);

    public static TrainingMethod Get(string name) =>
        Find(name) ?? throw new ArgumentException($"unknown method '{name}' (choose one of: {NameList(All)})");

    public static string[] Names(IEnumerable<TrainingMethod> methods) => [.. methods.Select(method => method.Name)];

    public static string NameList(IEnumerable<TrainingMethod> methods) => string.Join(", ", Names(methods));

    /// <summary>"simnpo: ..., npo: ..." for an option's --help text.</summary>
    public static string Help(IEnumerable<TrainingMethod> methods) => string.Join("; ", methods.Select(method => $"{method.Name}: {method.Summary}"));
}
