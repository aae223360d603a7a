namespace SimNpo.Unlearn.Objectives;

/// <summary>Objectives by their command-line names, with the public code's default β where none is given.</summary>
public static class ObjectiveFactory
{
    public const double SimNpoBeta = 2.5;
    public const double NpoBeta = 0.1;

    public static readonly string[] GradNames = ["nll", "ga", "simnpo", "npo"];

    /// <param name="referenceLogProbs">log π_ref(y_i|x_i) of the batch's sequences; NPO needs them, the others ignore them.</param>
    public static ISequenceObjective Create(string name, double? beta, double gamma, IReadOnlyList<double>? referenceLogProbs) => name switch
    {
        "nll" => new NegativeLogLikelihood(),
        "ga" => new NegativeLogLikelihood(ascend: true),
        "simnpo" => new SimNpoObjective(beta ?? SimNpoBeta, gamma),
        "npo" => new NpoObjective(beta ?? NpoBeta, referenceLogProbs ?? throw new ArgumentException("npo needs the reference model's log-probs")),
        _ => throw new ArgumentException($"unknown objective '{name}' (choose one of: {string.Join(", ", GradNames)})"),
    };
}
