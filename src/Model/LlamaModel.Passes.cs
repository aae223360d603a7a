using SimNpo.Kernels;

namespace SimNpo.Model;

/// <summary>
/// A forward with a backward returns a pass: what the forward computed, and the only way to run its backward, so a
/// backward without its forward does not compile. The activations a pass reads live in the model's buffers, which the
/// model's next forward (of any head) overwrites: a pass refuses its backward once it is no longer the latest.
/// </summary>
public sealed partial class LlamaModel<T>
{
    /// <summary>Forwards run so far: a pass is the latest while this still equals its own number.</summary>
    private long _forwards;

    public abstract class ForwardPass
    {
        private readonly long _number;
        private readonly Activations<T> _activations;

        private protected ForwardPass(LlamaModel<T> model, Activations<T> activations)
        {
            Model = model;
            _number = model._forwards;
            _activations = activations;
        }

        private protected LlamaModel<T> Model { get; }

        /// <summary>The activations the forward wrote, while no later forward has overwritten them.</summary>
        private protected Activations<T> Activations => Model._forwards == _number
            ? _activations
            : throw new InvalidOperationException("a later forward of this model has overwritten this pass's activations: run its backward first");
    }

    /// <summary>The log-prob head's pass (<see cref="Forward"/>): the per-sequence scores and their backward.</summary>
    public sealed class LogProbPass : ForwardPass
    {
        internal LogProbPass(LlamaModel<T> model, Activations<T> activations, SequenceScores scores) : base(model, activations) => Scores = scores;

        public SequenceScores Scores { get; }

        /// <summary>log πθ of every scored token, in row order (sequence by sequence), before the per-sequence sums.</summary>
        public View<T> TokenLogProbs => Activations.TokenLogProbs;

        /// <summary>
        /// Adds to <see cref="Gradients"/> the gradient of a loss whose derivative with respect to each sequence's
        /// log-prob is sequenceWeights[i] (every objective of SPEC.md has that form).
        /// </summary>
        public void Backward(ReadOnlySpan<double> sequenceWeights) => Model.Backward(Activations, sequenceWeights);
    }

    /// <summary>The KL head's pass (<see cref="ForwardKl"/>): the KL and its backward, which runs once (it overwrites the logits).</summary>
    public sealed class KlPass : ForwardPass
    {
        private View<T>? _targets;

        internal KlPass(LlamaModel<T> model, Activations<T> activations, View<T> targets, double value) : base(model, activations)
        {
            _targets = targets;
            Value = value;
        }

        /// <summary>(1/S)·Σ over the batch's S scored rows of KL(π_ref ‖ πθ).</summary>
        public double Value { get; }

        /// <summary>Adds to <see cref="Gradients"/> the gradient of weight·<see cref="Value"/>.</summary>
        public void Backward(double weight)
        {
            var targets = _targets ?? throw new InvalidOperationException("this KL pass's backward has run: it consumed the logits");
            Model.BackwardKl(Activations, targets, weight);
            _targets = null;
        }
    }
}
