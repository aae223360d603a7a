using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Model.SafeTensors;
using SimNpo.Tests.Training;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Model;

/// <summary>Parameters in several buffers (chunks of a layout), weights in the model's precision, and their master copy.</summary>
public class ParameterStoreTests
{
    /// <summary>TinyTask's model: a 1024-element embedding, 32-element norms, matrices of 512 to 2048 elements.</summary>
    private static readonly LlamaConfig Config = TinyTask.Config;

    [TestCase(1)]
    [TestCase(1000)]
    [TestCase(3000)]
    public void ChunksHoldWholeTensorsInOrderAndNeverPassTheirLimitButForOneLargerTensor(int chunkLength)
    {
        var layout = new ParameterLayout(Config, chunkLength);
        var start = 0L;
        var filled = new int[layout.ChunkLengths.Count];
        foreach (var entry in layout.Entries)
        {
            Assert.That(entry.Start, Is.EqualTo(start), entry.Name);
            Assert.That(entry.ChunkOffset, Is.EqualTo(filled[entry.Chunk]), $"{entry.Name} follows the tensor before it in its chunk");
            filled[entry.Chunk] += entry.Length;
            start += entry.Length;
        }
        Assert.That(filled, Is.EqualTo(layout.ChunkLengths));
        Assert.That(layout.ChunkLengths.Sum(length => (long)length), Is.EqualTo(layout.TotalLength));
        for (var c = 0; c < filled.Length; c++)
            Assert.That(filled[c] <= chunkLength || layout.EntriesOf(c).Count() == 1,
                $"chunk {c} of {filled[c]} passes {chunkLength} with more than one tensor");
        Assert.That(layout.Entries.Select(entry => entry.Chunk), Is.Ordered, "chunks fill in layout order");
    }

    /// <summary>
    /// The synthetic model of issue 14: 135,000 × 8192 embedding and lm_head (each 1.1 G elements, a chunk of its own), one
    /// small layer: more than 2^31 parameters in all, counted in 64 bits, no buffer over 2^31 elements. A single tensor over
    /// 2^31 elements (270,000 × 8192) cannot be one buffer and is refused by name.
    /// </summary>
    [Test]
    public void AModelOfMoreThan2Pow31ParametersIsLaidOutInBuffersThatEachFit()
    {
        var layout = new ParameterLayout(BigModel.Config);
        Assert.That(layout.TotalLength, Is.GreaterThan((long)int.MaxValue));
        Assert.That(layout.TotalLength, Is.EqualTo(2L * 135_000 * 8192 + 3 * 8192 + 4 * 8192 * 128 + 3 * 8192 * 256));
        Assert.That(layout.ChunkLengths, Has.All.LessThanOrEqualTo(Array.MaxLength));
        Assert.That(layout.Embedding.Chunk, Is.Not.EqualTo(layout.OutputProjection.Chunk));
        Assert.That(layout.ChunkLengths, Is.EqualTo(new[] { 135_000 * 8192, 3 * 8192 + 4 * 8192 * 128 + 3 * 8192 * 256, 135_000 * 8192 }),
            "each matrix alone in its chunk (with the layer, which fits beside neither), the layer's small tensors together");

        var tooLarge = BigModel.Config with { VocabSize = 270_000, TieWordEmbeddings = true };
        Assert.That(() => new ParameterLayout(tooLarge), Throws.TypeOf<NotSupportedException>()
            .With.Message.EqualTo($"tensor 'model.embed_tokens.weight' of {270_000L * 8192} elements is larger than one buffer holds ({Array.MaxLength})"));
    }

    /// <summary>Where a tensor lives changes nothing it computes: log-probs and every gradient bit for bit, one buffer or many.</summary>
    [Test]
    public void AChunkedModelComputesWhatOneBufferComputes()
    {
        var batch = TokenBatch.FromExamples(TinyTask.Forget.Take(3).ToArray());
        (double[] LogProb, double[] Gradients) Run(int chunkLength)
        {
            using var model = new LlamaModel<double>(Config, new ReferenceOps<double>(), chunkLength: chunkLength);
            ModelInitializer.Randomize(model, seed: 5, std: 0.1);
            var pass = model.Forward(batch);
            var scores = pass.Scores;
            model.ZeroGradients();
            pass.Backward(scores.LogProb.Select((_, i) => 1.0 + i).ToArray());
            Assert.That(model.Parameters.Chunks, Has.Count.EqualTo(new ParameterLayout(Config, chunkLength).ChunkLengths.Count));
            return (scores.LogProb, model.Gradients.ToArray());
        }
        var one = Run(ParameterLayout.DefaultChunkLength);
        var many = Run(1000);
        Assert.That(many.LogProb, Is.EqualTo(one.LogProb));
        Assert.That(many.Gradients, Is.EqualTo(one.Gradients));
    }

    [Test]
    public void Bf16WeightsAndGradientsAreStoredAsBFloat16AndTheMasterIsTheirWideningAtFirst()
    {
        using var model = new LlamaModel<float>(Config, new FastCpuOps(), Precision.Bf16, chunkLength: 1000);
        ModelInitializer.Randomize(model, seed: 1, std: 0.1);
        Assert.That(model.Parameters.Chunks.Select(c => c.Storage), Has.All.EqualTo(Storage.BFloat16));
        Assert.That(model.Gradients.Chunks.Select(c => c.Storage), Has.All.EqualTo(Storage.BFloat16));
        Assert.That(model.HasMasterWeights, Is.False, "only training makes master weights");
        Assert.That(model.MasterWeights.Chunks.Select(c => c.Storage), Has.All.EqualTo(Storage.Native));
        Assert.That(model.MasterWeights.ToArray(), Is.EqualTo(model.Parameters.ToArray()));

        using var fp32 = new LlamaModel<float>(Config, new FastCpuOps());
        Assert.That(() => fp32.MasterWeights, Throws.InvalidOperationException.With.Message.Contains("keeps no master copy"));
    }

    /// <summary>
    /// A bf16 run with float32 master weights (and fp32 or bf16 moments) stopped after two steps and resumed from its
    /// checkpoint takes the same next three steps bit for bit: the checkpoint keeps the master weights and the moments
    /// exactly. Gradients are set directly (a fixed function of the step), so this holds for the optimizer and the files
    /// whatever computes the gradients; clipping is on, so the gradient norm's summation order matters too.
    /// </summary>
    [TestCase("fp32")]
    [TestCase("bf16")]
    public void ABf16RunResumedFromItsCheckpointIsBitwiseTheUninterruptedRun(string optimizerState)
    {
        var ops = new FastCpuOps();
        var settings = TinyTask.Memorise with { Precision = "bf16", OptimizerState = optimizerState, MaxGradNorm = 0.5 };
        var adamW = settings.AdamW;
        void Steps(LlamaModel<float> model, AdamWOptimizer<float> optimizer, int from, int to)
        {
            for (var step = from; step < to; step++)
            {
                model.Gradients.CopyFrom(Enumerable.Range(0, (int)model.Layout.TotalLength).Select(i => (float)(0.01 * Math.Sin(i + 7.0 * step))).ToArray());
                optimizer.Step(1e-3 * (step + 1));
            }
        }
        LlamaModel<float> NewModel()
        {
            var model = new LlamaModel<float>(Config, ops, Precision.Bf16);
            ModelInitializer.Randomize(model, seed: 2, std: 0.1);
            return model;
        }

        using var straight = NewModel();
        using var straightOptimizer = new AdamWOptimizer<float>(straight, adamW, settings.MomentStorage);
        Steps(straight, straightOptimizer, 0, 5);

        using var run = new TempDirectory();
        using (var first = NewModel())
        using (var firstOptimizer = new AdamWOptimizer<float>(first, adamW, settings.MomentStorage))
        {
            Steps(first, firstOptimizer, 0, 2);
            Checkpoint.Save(run.Path, 2, first, firstOptimizer, settings, tokenizerSource: null);
        }
        using var resumed = new LlamaModel<float>(Config, ops, Precision.Bf16);
        using var resumedOptimizer = new AdamWOptimizer<float>(resumed, adamW, settings.MomentStorage);
        Assert.That(Checkpoint.Load(Checkpoint.Latest(run.Path)!, resumed, resumedOptimizer, settings), Is.EqualTo(2));
        Steps(resumed, resumedOptimizer, 2, 5);

        Assert.That(Bits(resumed.MasterWeights), Is.EqualTo(Bits(straight.MasterWeights)), "master weights");
        Assert.That(Bits(resumed.Parameters), Is.EqualTo(Bits(straight.Parameters)), "bf16 weights");
        Assert.That(Bits(resumedOptimizer.FirstMoment), Is.EqualTo(Bits(straightOptimizer.FirstMoment)), "first moment");
        Assert.That(Bits(resumedOptimizer.SecondMoment), Is.EqualTo(Bits(straightOptimizer.SecondMoment)), "second moment");
        Assert.That(resumed.Parameters.ToArray(), Is.EqualTo(resumed.MasterWeights.ToArray().Select(BFloat16.Round)), "weights = round(master)");
    }

    /// <summary>
    /// A model keeps the dtype it was loaded in and saves in it; --save-dtype overrides. A bf16 model with master weights
    /// saves them, so an f32 save keeps what training computed and a bf16 save is exactly the stored weights.
    /// </summary>
    [Test]
    public void SavingWritesTheLoadedDTypeUnlessToldOtherwise()
    {
        var ops = new FastCpuOps();
        using var source = new TempDirectory();
        using (var model = new LlamaModel<float>(Config, ops))
        {
            ModelInitializer.Randomize(model, seed: 4, std: 0.1);
            ModelFiles.Save(model, source.Path, dtype: SafeTensorsDType.BF16);
        }
        AssertSaved(source.Path, SafeTensorsDType.BF16, "bfloat16");

        using var loaded = ModelFiles.Load(source.Path, ops, Precision.Bf16, masterWeights: true);
        Assert.That(loaded.StoredDType, Is.EqualTo(SafeTensorsDType.BF16));
        loaded.MasterWeights.CopyFrom(loaded.MasterWeights.ToArray().Select(x => x + 1e-4f).ToArray()); // as a step would: below bf16's spacing
        using var again = new TempDirectory();
        ModelFiles.Save(loaded, again.Path);
        AssertSaved(again.Path, SafeTensorsDType.BF16, "bfloat16");
        using var f32 = new TempDirectory();
        ModelFiles.Save(loaded, f32.Path, dtype: SafeTensorsDType.F32);
        AssertSaved(f32.Path, SafeTensorsDType.F32, "float32");
        using var f16 = new TempDirectory();
        ModelFiles.Save(loaded, f16.Path, dtype: SafeTensorsDType.F16);
        AssertSaved(f16.Path, SafeTensorsDType.F16, "float16");

        var master = loaded.MasterWeights.ToArray();
        using (var reread = ModelFiles.Load(f32.Path, new ReferenceOps<float>()))
            Assert.That(reread.Parameters.ToArray(), Is.EqualTo(master), "f32: the master weights exactly");
        using (var reread = ModelFiles.Load(again.Path, new ReferenceOps<float>()))
            Assert.That(reread.Parameters.ToArray(), Is.EqualTo(master.Select(BFloat16.Round)), "bf16: the master's rounding");
        using (var reread = ModelFiles.Load(f16.Path, new ReferenceOps<float>()))
            Assert.That(reread.Parameters.ToArray(), Is.EqualTo(master.Select(x => (float)(Half)x)), "f16: the master's rounding to half");
    }

    /// <summary>A sharded bf16 checkpoint streams into a bf16 model exactly, and into a float32 one widened exactly.</summary>
    [Test]
    public void AShardedCheckpointLoadsTensorByTensorIntoEitherPrecision()
    {
        using var directory = new TempDirectory();
        float[] written;
        using (var model = new LlamaModel<float>(Config, new FastCpuOps(), Precision.Bf16))
        {
            ModelInitializer.Randomize(model, seed: 9, std: 0.1);
            ModelFiles.Save(model, directory.Path, maxShardBytes: 4096);
            written = model.Parameters.ToArray();
        }
        Assert.That(File.Exists(Path.Combine(directory.Path, SafeTensorsCheckpoint.IndexFileName)), Is.True);
        Assert.That(File.Exists(Path.Combine(directory.Path, SafeTensorsCheckpoint.SingleFileName)), Is.False);
        using (var checkpoint = SafeTensorsCheckpoint.Open(directory.Path))
            Assert.That(checkpoint.Tensors.Values.Select(t => t.DType), Has.All.EqualTo(SafeTensorsDType.F32), "a fresh model saves float32");
        using var bf16 = ModelFiles.Load(directory.Path, new FastCpuOps(), Precision.Bf16, chunkLength: 1000);
        using var fp32 = ModelFiles.Load(directory.Path, new FastCpuOps());
        Assert.That(bf16.Parameters.ToArray(), Is.EqualTo(written));
        Assert.That(fp32.Parameters.ToArray(), Is.EqualTo(written));
    }

    private static void AssertSaved(string directory, SafeTensorsDType dtype, string torchDType)
    {
        using (var checkpoint = SafeTensorsCheckpoint.Open(directory))
            Assert.That(checkpoint.Tensors.Values.Select(t => t.DType), Has.All.EqualTo(dtype));
        Assert.That(File.ReadAllText(Path.Combine(directory, ModelFiles.ConfigFileName)), Does.Contain($"\"torch_dtype\": \"{torchDType}\""));
    }

    private static uint[] Bits(ParameterSet<float> set) => set.ToArray().Select(BitConverter.SingleToUInt32Bits).ToArray();
}
