using System.Numerics;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Objectives;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Training;

/// <summary>The Llama reference fixture (Fixtures/llama/README.md): its model, its batch, and its SimNPO training step.</summary>
public static class LlamaFixture
{
    public static string Directory(string configuration) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "llama", configuration);

    public static LlamaModel<T> Load<T>(string configuration) where T : unmanaged, IFloatingPointIeee754<T> =>
        ModelFiles.Load(Directory(configuration), new ReferenceOps<T>());

    public static TokenBatch Batch(string configuration, int vocabSize)
    {
        var records = JsonlRecords.Read(Path.Combine(Directory(configuration), "batch.jsonl"), vocabSize);
        return TokenBatch.FromExamples(records.Select(record => ((PretokenizedRecord)record).Example).ToArray());
    }

    /// <summary>β and γ of the fixture's adamw_losses.</summary>
    public static SimNpoObjective Objective { get; } = new(2.5, 0.5);

    /// <summary>Zero the gradients, forward, SimNPO backward, one optimizer step; returns the loss before the step.</summary>
    public static double TrainStep<T>(LlamaModel<T> model, AdamWOptimizer<T> optimizer, TokenBatch batch, double learningRate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        model.ZeroGradients();
        var pass = model.Forward(batch);
        var value = Objective.Evaluate(pass.Scores);
        pass.Backward(value.SequenceWeights);
        optimizer.Step(learningRate);
        return value.Loss;
    }
}
