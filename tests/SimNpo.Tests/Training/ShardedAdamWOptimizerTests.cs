using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Training;

/// <summary>
/// ZeRO stage 1 against the unsharded optimizer, ranks as threads (InProcessGroup): the same gradients on every rank (as
/// after the all-reduce), clipping on, chunks of 1000 elements so that slices end inside tensors and span chunks. AdamW is
/// element-wise and every rank computes the norm from the same reduced gradients, so the weights, the optimizer file and
/// the saved master weights must be the same bits, not merely close.
/// </summary>
public class ShardedAdamWOptimizerTests
{
    private const int ChunkLength = 1000;
    private const int Steps = 4;

    private static LlamaModel<float> NewModel(string precision)
    {
        var model = new LlamaModel<float>(TinyTask.Config, new FastCpuOps(), Precision.Parse(precision), ChunkLength);
        ModelInitializer.Randomize(model, seed: 5, std: 0.1);
        return model;
    }

    /// <summary>Step s's gradient, the same on every rank: what the all-reduce leaves.</summary>
    private static void TakeStep(LlamaModel<float> model, IParameterOptimizer<float> optimizer, int step)
    {
        model.Gradients.CopyFrom(Enumerable.Range(0, (int)model.Layout.TotalLength).Select(i => (float)(0.02 * Math.Sin(0.37 * i + 5.0 * step))).ToArray());
        optimizer.Step(1e-3 * (step + 1));
    }

    private static uint[] Bits(ParameterSet<float> set) => set.ToArray().Select(BitConverter.SingleToUInt32Bits).ToArray();

    private static AdamWSettings Settings => new(WeightDecay: 0.01, MaxGradNorm: 0.5);

    [TestCase(2, "bf16", "fp32")]
    [TestCase(3, "bf16", "bf16")]
    [TestCase(3, "fp32", "fp32")]
    public void ShardedStepsAreBitwiseTheUnshardedOnes(int ranks, string precision, string optimizerState)
    {
        var moments = Precision.Parse(optimizerState).Bulk;
        using var directory = new TempDirectory();
        using var straight = NewModel(precision);
        using (var optimizer = new AdamWOptimizer<float>(straight, Settings, moments))
        {
            for (var step = 0; step < Steps; step++) TakeStep(straight, optimizer, step);
            optimizer.Save(directory.File("straight.safetensors"));
        }
        var weights = new uint[ranks][];
        uint[]? master = null;
        InProcessGroup.Run(ranks, group =>
        {
            using var model = NewModel(precision);
            using var optimizer = new ShardedAdamWOptimizer<float>(model, Settings, group, moments);
            Assert.That(model.HasMasterWeights, Is.False, "the whole master copy is released");
            for (var step = 0; step < Steps; step++) TakeStep(model, optimizer, step);
            weights[group.Rank] = Bits(model.Parameters);
            optimizer.Save(directory.File("sharded.safetensors"));
            using var gathered = optimizer.GatherWeightsToSave();
            if (group.IsRoot && gathered is not null) master = Bits(gathered);
        });
        for (var rank = 0; rank < ranks; rank++) Assert.That(weights[rank], Is.EqualTo(Bits(straight.Parameters)), $"rank {rank}'s weights");
        Assert.That(File.ReadAllBytes(directory.File("sharded.safetensors")), Is.EqualTo(File.ReadAllBytes(directory.File("straight.safetensors"))),
            "the optimizer file");
        if (precision == "bf16") Assert.That(master, Is.EqualTo(Bits(straight.MasterWeights)), "the gathered master weights");
        else Assert.That(master, Is.Null);
    }

    /// <summary>A sharded run checkpointed at step 2 (the root writes it whole) and resumed on as many ranks continues bitwise.</summary>
    [Test]
    public void AShardedRunResumedFromItsCheckpointIsBitwiseTheUninterruptedRun()
    {
        const int ranks = 2;
        var settings = TinyTask.Memorise with { Precision = "bf16", OptimizerState = "bf16" };
        using var run = new TempDirectory();
        using var straight = NewModel("bf16");
        using (var optimizer = new AdamWOptimizer<float>(straight, Settings, Storage.BFloat16))
            for (var step = 0; step < Steps; step++) TakeStep(straight, optimizer, step);

        InProcessGroup.Run(ranks, group =>
        {
            using var model = NewModel("bf16");
            using var optimizer = new ShardedAdamWOptimizer<float>(model, Settings, group, Storage.BFloat16);
            for (var step = 0; step < 2; step++) TakeStep(model, optimizer, step);
            Checkpoint.Save(run.Path, 2, model, optimizer, settings, tokenizerSource: null, writes: group.IsRoot);
        });
        var weights = new uint[ranks][];
        InProcessGroup.Run(ranks, group =>
        {
            using var model = new LlamaModel<float>(TinyTask.Config, new FastCpuOps(), Precision.Bf16, ChunkLength);
            using var optimizer = new ShardedAdamWOptimizer<float>(model, Settings, group, Storage.BFloat16);
            Assert.That(Checkpoint.Load(Checkpoint.Latest(run.Path)!, model, optimizer, settings), Is.EqualTo(2));
            for (var step = 2; step < Steps; step++) TakeStep(model, optimizer, step);
            weights[group.Rank] = Bits(model.Parameters);
        });
        for (var rank = 0; rank < ranks; rank++) Assert.That(weights[rank], Is.EqualTo(Bits(straight.Parameters)), $"rank {rank}'s weights");
    }
}
