using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Tests.Kernels.Ilgpu;
using SimNpo.Tests.Training;
using SimNpo.Unlearn.Distributed.Nccl;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Distributed.Nccl;

/// <summary>
/// The trainer's NCCL path (NcclGroup, NcclStepGradients) run whole on ILGPU's simulator against the host-memory stand-in
/// (<see cref="FakeNccl"/>), one rank, as on a one-GPU machine: each step's micro-batches accumulate on the device and
/// every gradient chunk is all-reduced once, which on one rank leaves it unchanged; so the run must end on the very
/// weights of the default path (micro-batches accumulated on the device, no all-reduce).
/// </summary>
[NonParallelizable]
public class NcclTrainingTests
{
    /// <summary>Two micro-batches of 2 per step: 12 forget examples make 3 steps.</summary>
    private static readonly TrainingSettings Settings = new()
    {
        Method = "simnpo", LearningRate = 1e-2, Epochs = 1, BatchSize = 2, GradAccum = 2, Warmup = "0", SaveEvery = 0, Device = "ilgpu-cpu",
    };

    /// <summary>A small chunk length gives the gradients several buffers, each its own all-reduce.</summary>
    private const int ChunkLength = 4096;

    private static LlamaModel<float> NewModel(string precision)
    {
        var model = new LlamaModel<float>(TinyTask.Config, SimulatedDevices.Get(SimulatedDevices.Default), Precision.Parse(precision), ChunkLength);
        ModelInitializer.Randomize(model, seed: 0, std: 0.1);
        return model;
    }

    private static (float[] Weights, int Chunks) Train(string precision, GradientSum mode, string folder)
    {
        using var model = NewModel(precision);
        new TrainingJob<float>(model, Settings with { Precision = precision }, new TrainingData(TinyTask.Forget, TinyTask.Retain), folder, new SilentObserver())
        {
            GradientSum = mode,
            NcclLibrary = mode == GradientSum.Nccl ? FakeNccl.Library : "",
        }.Run(resume: false);
        return (model.Parameters.ToArray(), model.Gradients.Chunks.Count);
    }

    [TestCase("fp32", NcclLibrary.Float32)]
    [TestCase("bf16", NcclLibrary.BFloat16)]
    public void OneRankThroughNcclTrainsTheSameBitsAsDeviceAccumulation(string precision, int dataType)
    {
        using var directory = new TempDirectory();
        var before = FakeNccl.Read();
        var (viaNccl, chunks) = Train(precision, GradientSum.Nccl, directory.File("nccl"));
        var calls = FakeNccl.Read();
        var (onDevice, _) = Train(precision, GradientSum.Auto, directory.File("device"));
        Assert.That(viaNccl, Is.EqualTo(onDevice), "the same weights, bit for bit");
        using (var start = NewModel(precision)) Assert.That(viaNccl, Is.Not.EqualTo(start.Parameters.ToArray()), "the run changed the weights");
        Assert.That(chunks, Is.GreaterThan(1));
        Assert.That(calls.AllReduces - before.AllReduces, Is.EqualTo(3 * chunks), "one all-reduce per gradient chunk per step");
        Assert.That((calls.DataType, calls.InPlace, calls.CommunicatorsAlive), Is.EqualTo((dataType, true, before.CommunicatorsAlive)),
            "the chunks' own type, in place, and the communicator destroyed at the end");
    }

    /// <summary>NCCL asked for but not loadable: refused before the run computes or writes anything, so the same folder takes the next try.</summary>
    [Test]
    public void AnNcclThatCannotLoadLeavesTheRunFolderEmpty()
    {
        using var directory = new TempDirectory();
        var folder = directory.File("run");
        using var model = NewModel("fp32");
        var job = new TrainingJob<float>(model, Settings, new TrainingData(TinyTask.Forget, TinyTask.Retain), folder, new SilentObserver())
        {
            GradientSum = GradientSum.Nccl,
            NcclLibrary = directory.File("libnccl-missing.so.2"),
        };
        var error = Assert.Throws<NotSupportedException>(() => job.Run(resume: false));
        Assert.That(error!.Message, Does.StartWith("--gradient-sum nccl: ").And.Contain("libnccl-missing.so.2 was not found"));
        Assert.That(Directory.Exists(folder) ? Directory.GetFileSystemEntries(folder) : [], Is.Empty);
        Assert.DoesNotThrow(() => (job with { GradientSum = GradientSum.Auto }).Run(resume: false), "the next try in the same folder");
    }
}
