using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Unlearn.Evaluation;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Training;

/// <summary>
/// A task small enough to learn in seconds: random prompt → answer pairs over a 32-token vocabulary, a forget set and a
/// retain set of 12 each, and a tiny Llama that memorises both.
/// </summary>
public static class TinyTask
{
    public static readonly LlamaConfig Config =
        LlamaConfig.Shaped(hidden: 32, intermediate: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 8, vocab: 32, maxPositions: 32);

    public static IReadOnlyList<TokenizedExample> Examples(int seed, int count)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(_ => new TokenizedExample([1, .. Enumerable.Range(0, 3).Select(_ => random.Next(3, 32))],
                [.. Enumerable.Range(0, 5).Select(_ => random.Next(3, 32)), 2]))
            .ToArray();
    }

    public static readonly IReadOnlyList<TokenizedExample> Forget = Examples(1, 12);
    public static readonly IReadOnlyList<TokenizedExample> Retain = Examples(2, 12);

    public static LlamaModel<float> NewModel(int seed = 0)
    {
        var model = new LlamaModel<float>(Config, new ReferenceOps<float>());
        ModelInitializer.Randomize(model, seed, std: 0.1);
        return model;
    }

    public static TrainingSettings Memorise => new()
    {
        Method = "nll",
        LearningRate = 1e-2,
        Epochs = 60,
        BatchSize = 8,
        GradAccum = 1,
        Warmup = "0",
        Schedule = "constant",
        WeightDecay = 0,
        RetainWeight = 0,
    };

    public static double MeanLogProb(LlamaModel<float> model, IReadOnlyList<TokenizedExample> examples) => NormalisedLogProb.Mean(model, examples, 8, 64);
}
