using System.Text.RegularExpressions;
using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Model.SafeTensors;
using SimNpo.Tests.Cli;
using SimNpo.Unlearn.Objectives;

namespace SimNpo.Tests.Model;

/// <summary>The synthetic model of issue 14 (more than 2^31 parameters), shared by the layout test and the big-model run.</summary>
public static class BigModel
{
    /// <summary>135,000 × 8192 embedding and untied lm_head (1.106 G elements each), one layer of 1 head × 128 and an MLP of 256.</summary>
    public static readonly LlamaConfig Config =
        LlamaConfig.Shaped(hidden: 8192, intermediate: 256, layers: 1, heads: 1, kvHeads: 1, headDim: 128, vocab: 135_000, maxPositions: 64);
}

/// <summary>
/// Issue 14's check that a model of more than 2^31 parameters loads and runs on this 24 GB machine: a sharded bf16
/// checkpoint of <see cref="BigModel"/> (4.4 GB) is written once, then loaded while the peak resident memory is watched,
/// and `simnpo grad --precision bf16 --device cpu` is compared with a float32 forward of the same batch. Explicit: it needs
/// about 10 GB of memory at a time, 15 GB of disk (the checkpoint and the gradient file) and minutes, so it stays out of
/// the default suite. Run: dotnet test -c Release --no-build --filter "FullyQualifiedName~BigModelTests". The folder is
/// $SIMNPO_BIG_MODEL or /tmp/simnpo-big-model; delete it afterwards.
/// </summary>
[Explicit("needs ~10 GB of memory, ~15 GB of disk and minutes")]
[Category("BigModel")]
[NonParallelizable]
public class BigModelTests
{
    private static readonly string Folder = Environment.GetEnvironmentVariable("SIMNPO_BIG_MODEL") ?? Path.Combine(Path.GetTempPath(), "simnpo-big-model");
    private static string ModelDirectory => Path.Combine(Folder, "model");
    private static long ModelBytes => new ParameterLayout(BigModel.Config).TotalLength * 2;

    [OneTimeSetUp]
    public void WriteTheShardedBf16CheckpointOnce()
    {
        if (File.Exists(Path.Combine(ModelDirectory, SafeTensorsCheckpoint.IndexFileName))) return;
        using var model = new LlamaModel<float>(BigModel.Config, new FastCpuOps(), Precision.Bf16);
        ModelInitializer.RandomizeUniform(model, seed: 14);
        // 2 GB shards: each 2.2 GB matrix passes that alone, so the checkpoint has three shards.
        ModelFiles.Save(model, ModelDirectory, dtype: SafeTensorsDType.BF16, maxShardBytes: 2_000_000_000);
        File.WriteAllLines(Path.Combine(Folder, "batch.jsonl"), Enumerable.Range(0, 2).Select(i =>
            $$"""{"prompt_ids": [1, {{100 + i}}, {{60_000 + i}}, 7], "answer_ids": [{{134_990 - i}}, 5, {{70_000 + 3 * i}}, 2]}"""));
    }

    /// <summary>
    /// Loading streams each tensor in 1 M-element pieces from positioned reads (no mapping), so the resident memory it adds
    /// is the model's buffers (2 bytes a parameter) and a few megabytes of scratch: at most 1.1 × the model, measured as
    /// VmHWM after loading over VmRSS before it, with the peak reset (/proc/self/clear_refs) at the start. An aggressive
    /// collection first hands the memory of earlier tests back to the system, or a load could reuse it unseen.
    /// </summary>
    [Test]
    public void LoadingTheShardedBf16CheckpointPeaksWithin1Point1TimesTheModel()
    {
        ReleaseFreedMemory();
        File.WriteAllText("/proc/self/clear_refs", "5");
        var before = StatusKiB("VmRSS");
        long peak;
        using (var model = ModelFiles.Load(ModelDirectory, new FastCpuOps(), Precision.Bf16))
        {
            peak = StatusKiB("VmHWM");
            Assert.That(model.Layout.TotalLength, Is.GreaterThan((long)int.MaxValue));
            Assert.That(model.StoredDType, Is.EqualTo(SafeTensorsDType.BF16));
        }
        var added = (peak - before) * 1024.0;
        TestContext.Out.WriteLine(
            $"model {ModelBytes / 1e9:F3} GB (bf16); resident before {before * 1024 / 1e9:F3} GB, peak while loading {peak * 1024 / 1e9:F3} GB, " +
            $"added {added / 1e9:F3} GB = {added / ModelBytes:F3} × the model");
        Assert.That(added, Is.LessThanOrEqualTo(1.1 * ModelBytes));
    }

    /// <summary>
    /// The bf16 gradient run against a float32 forward of the same bf16 weights and batch. Both compute in float32; bf16
    /// stores each activation (embedding rows, residual stream, norm outputs, the one layer's projections, the scored
    /// hidden rows) rounded to 2^-8 relative. A token's loss logsumexp(z) − z_target moves by at most 2·max|Δz|, and with
    /// about four stores on each path to the logits a relative error of 4·2^-8 of the logits bounds |Δz| by 4·2^-8·max|z|;
    /// the random model's logits have a standard deviation of √8192 · 0.02 ≈ 1.8 (weights of std 0.02 against a unit-RMS
    /// hidden row of width 8192), so over 135,000 logits of a few rows |z| stays below 10 (5.5σ), and
    /// |Δloss| ≤ 2 · 4 · 2^-8 · 10 ≈ 0.32 nats of a loss near ln(135,000) ≈ 11.8.
    /// </summary>
    [Test]
    public void Bf16GradOfTheBigModelMatchesAFloat32ForwardOfTheSameBatch()
    {
        var batchFile = Path.Combine(Folder, "batch.jsonl");
        double float32Loss;
        using (var model = ModelFiles.Load(ModelDirectory, new FastCpuOps()))
        {
            var batch = TokenBatch.FromExamples(SimNpo.Unlearn.Data.ExampleFiles.Load(batchFile, ModelDirectory, model.Config));
            float32Loss = new NegativeLogLikelihood().Evaluate(model.Forward(batch).Scores).Loss;
        }
        ReleaseFreedMemory();
        TestContext.Out.WriteLine($"float32 loss {float32Loss:G9}");

        File.WriteAllText("/proc/self/clear_refs", "5");
        var (code, output, error) = Simnpo.Run("grad", "--model", ModelDirectory, "--data", batchFile, "--precision", "bf16", "--device", "cpu",
            "--out", Path.Combine(Folder, "grad.safetensors"));
        TestContext.Out.WriteLine($"{output}{error}peak resident {StatusKiB("VmHWM") * 1024 / 1e9:F3} GB");
        Assert.That(code, Is.EqualTo(0), error);
        var bf16Loss = double.Parse(Regex.Match(output, @"loss (\S+) over").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(bf16Loss, Is.EqualTo(float32Loss).Within(0.32));
    }

    private static void ReleaseFreedMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>A field of /proc/self/status in KiB (VmRSS: resident now, VmHWM: the peak since the last reset).</summary>
    private static long StatusKiB(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }
}
