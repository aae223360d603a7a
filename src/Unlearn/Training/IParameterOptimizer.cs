using System.Numerics;
using SimNpo.Model;

namespace SimNpo.Unlearn.Training;

/// <summary>
/// What the trainer and checkpoints need of an optimizer over a model's parameters: <see cref="AdamWOptimizer{T}"/>, which
/// holds the whole state, or <see cref="ShardedAdamWOptimizer{T}"/> (ZeRO stage 1), whose members are collective: every
/// rank calls them in the same order.
/// </summary>
public interface IParameterOptimizer<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
{
    AdamWSettings Settings { get; }

    /// <summary>Whether the state is split across ranks: then saving is collective (<see cref="Save"/>, <see cref="GatherWeightsToSave"/>).</summary>
    bool IsSharded => false;

    /// <summary>Steps taken so far; the next step is bias-corrected as step StepCount + 1.</summary>
    int StepCount { get; }

    /// <summary>Clips the model's gradients and updates its parameters; returns the gradient norm before clipping.</summary>
    double Step(double learningRate);

    /// <summary>Writes the whole state to path, atomically (under sharding only the root writes; the others send it their slices).</summary>
    void Save(string path);

    /// <summary>Restores a state written by <see cref="Save"/> (by either optimizer: the file is the same).</summary>
    void Load(string path);

    /// <summary>
    /// The weights a saved model is written from when the model itself lacks them: the gathered float32 master weights (on
    /// the root; null elsewhere) when the optimizer holds them in slices; null otherwise (the model's own are whole).
    /// </summary>
    ParameterSet<T>? GatherWeightsToSave() => null;
}
