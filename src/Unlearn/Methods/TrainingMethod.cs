using SimNpo.Model;
using SimNpo.Unlearn.Objectives;
using SimNpo.Unlearn.Training;

namespace SimNpo.Unlearn.Methods;

/// <summary>
/// Everything the engine needs to know about one training method, in one place: its name and help line, its default β,
/// whether it needs the reference model's log-probs or refusal answers, whether it has a retain term, its forget
/// objective and the layout of its forget batch. <see cref="TrainingMethods"/> finds every subclass, so adding a method
/// is one new file (and its test); the commands, the settings' checks and the trainer all ask the descriptor.
/// </summary>
public abstract class TrainingMethod
{
    /// <summary>The command-line and run.json name (--method, --objective, --methods).</summary>
    public abstract string Name { get; }

    /// <summary>One line for --help.</summary>
    public abstract string Summary { get; }

    /// <summary>Where the method stands in lists (--help, error messages): the order the paper compares them in.</summary>
    public abstract int ListOrder { get; }

    /// <summary>Whether it is an unlearning method (`unlearn`, `tofu`), not plain fine-tuning.</summary>
    public virtual bool Unlearns => true;

    /// <summary>The public code's β when none is given; null for a method without β.</summary>
    public virtual double? DefaultBeta => null;

    /// <summary>Whether the forget objective needs log π_ref of its sequences (computed once before training).</summary>
    public virtual bool NeedsReferenceLogProbs => false;

    /// <summary>Whether it needs an "I don't know" answer for each forget example (--refusals).</summary>
    public virtual bool NeedsRefusals => false;

    /// <summary>Whether the loss adds the retain term λ·L_r (NLL or KL on the retain set); each method says so, none is dropped silently.</summary>
    public abstract bool HasRetainTerm { get; }

    /// <summary>Whether `simnpo grad` offers it: one batch of the file's records, so a method that pairs them with refusals cannot be.</summary>
    public virtual bool InGradCommand => !NeedsRefusals;

    /// <summary>β as the objective uses it: the given one, else the default (applied here and nowhere else).</summary>
    public double? Beta(double? given) => DefaultBeta is null ? given : given ?? DefaultBeta;

    /// <summary>The forget objective over one batch in this method's layout.</summary>
    /// <param name="referenceLogProbs">log π_ref of the batch's sequences, in the batch's layout; only methods that need them read them.</param>
    /// <param name="gammaForm">How γ enters σ (<see cref="GammaForm"/>): as given (the paper) or times β (the public code).</param>
    public ISequenceObjective Objective(double? beta, double gamma, IReadOnlyList<double>? referenceLogProbs, string gammaForm = GammaForm.Paper)
    {
        if (NeedsReferenceLogProbs && referenceLogProbs is null) throw new ArgumentException($"{Name} needs the reference model's log-probs");
        return CreateObjective(Beta(beta), GammaForm.Margin(gammaForm, Beta(beta), gamma), referenceLogProbs);
    }

    /// <param name="gamma">The margin inside σ, already in the paper's form.</param>
    protected abstract ISequenceObjective CreateObjective(double? beta, double gamma, IReadOnlyList<double>? referenceLogProbs);

    /// <summary>The sequences of one forget micro-batch for the given forget examples: by default those examples.</summary>
    public virtual IReadOnlyList<TokenizedExample> ForgetBatch(TrainingData data, int[] indices) => [.. indices.Select(i => data.Forget[i])];

    /// <summary>log π_ref of <see cref="ForgetBatch"/>'s sequences, in the same order; null when the method needs none.</summary>
    public virtual double[]? BatchReferenceLogProbs(ReferenceLogProbs? reference, int[] indices) =>
        NeedsReferenceLogProbs ? [.. indices.Select(i => Required(reference).Forget[i])] : null;

    /// <summary>Where the forget answers themselves sit in <see cref="ForgetBatch"/> (their mean ℓ is logged).</summary>
    public virtual IEnumerable<int> ForgetAnswerPositions(int count) => Enumerable.Range(0, count);

    protected ReferenceLogProbs Required(ReferenceLogProbs? reference) =>
        reference ?? throw new InvalidOperationException($"{Name} needs the reference log-probs");

    public override string ToString() => Name;
}
