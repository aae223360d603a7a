using System.Text.Json.Nodes;
using SimNpo.Cli;
using SimNpo.Kernels;
using SimNpo.Kernels.Runtime;
using SimNpo.Model;
using SimNpo.Model.SafeTensors;
using SimNpo.Tests.Cli;
using SimNpo.Tests.Model;
using SimNpo.Unlearn;
using SimNpo.Unlearn.Data;
using SimNpo.Unlearn.Methods;
using SimNpo.Unlearn.Objectives;

namespace SimNpo.Tests.Kernels.Ilgpu;

/// <summary>
/// The whole Llama graph on ILGPU's simulated CPU device against the CPU reference, both in float32, on the PyTorch
/// fixture model (2 layers, width 32, 3 sequences): per-sequence log-probs, the SimNPO loss and every gradient.
/// </summary>
public class IlgpuModelTests
{
    /// <summary>
    /// Both sides are float32 with different summation orders (float32 row sums on the device, float64 in the
    /// reference; atomics): each is within 2e-5 of PyTorch's float64 at this model (LlamaFixtureTests), so they are
    /// within 4e-5 of each other, scaled by each tensor's largest magnitude (observed: 5e-6). A wrong kernel is off by
    /// 1e-2 or more.
    /// </summary>
    private const double Tolerance = 4e-5;

    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "llama", "untied");

    [Test]
    public void LogProbsLossAndEveryGradientMatchTheReference()
    {
        var config = ModelFiles.LoadConfig(Fixture);
        var batch = TokenBatch.FromExamples(ExampleFiles.Load(Path.Combine(Fixture, "batch.jsonl"), Fixture, config));
        var objective = TrainingMethods.Get("simnpo").Objective(2.5, 0.5, null);
        (double[] LogProbs, double Loss, float[] Gradients, LlamaModel<float> Model) Run(IOps<float> ops)
        {
            var model = ModelFiles.Load(Fixture, ops);
            var pass = model.Forward(batch);
            var scores = pass.Scores;
            var value = objective.Evaluate(scores);
            model.ZeroGradients();
            pass.Backward(value.SequenceWeights);
            return (scores.LogProb, value.Loss, model.Gradients.ToArray(), model);
        }
        var device = Run(Devices.Create("ilgpu-cpu"));
        var reference = Run(new ReferenceOps<float>());
        using (device.Model)
        using (reference.Model)
        {
            LlamaFixtureTests.AssertClose(device.LogProbs, reference.LogProbs, Tolerance, "seq_logprob");
            LlamaFixtureTests.AssertClose([device.Loss], [reference.Loss], Tolerance, "loss");
            foreach (var entry in reference.Model.Layout.Entries)
                LlamaFixtureTests.AssertClose(Slice(device.Gradients, entry), Slice(reference.Gradients, entry), Tolerance, entry.Name);
        }
    }

    /// <summary>The same through the command line: `grad --device ilgpu-cpu` writes what `--device reference` writes, within the tolerance above.</summary>
    [Test]
    public void GradCommandOnIlgpuCpuMatchesCpu() => AssertGradMatchesTheReference("ilgpu-cpu", "(ilgpu-cpu (warp 4, groups 16))");

    /// <summary>
    /// Runs `grad` (SimNPO on the fixture batch) on the device and on `--device reference`, checks that each names its device
    /// as given, and compares every gradient within <see cref="Tolerance"/>: both float32, each within 2e-5 of PyTorch.
    /// </summary>
    internal static void AssertGradMatchesTheReference(string device, string deviceName)
    {
        using var directory = new TempDirectory();
        SafeTensorsFile Grad(string name, string expectedName)
        {
            var output = directory.File($"{name}.safetensors");
            var (code, console, error) = Simnpo.Run("grad", "--model", Fixture, "--data", Path.Combine(Fixture, "batch.jsonl"), "--objective", "simnpo",
                "--beta", "2.5", "--gamma", "0.5", "--device", name, "--out", output);
            Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
            Assert.That(console, Does.Contain(expectedName));
            return SafeTensorsFile.Open(output);
        }
        using var actual = Grad(device, deviceName);
        using var cpu = Grad("reference", "(reference-single)");
        Assert.That(actual.Tensors.Keys, Is.EquivalentTo(cpu.Tensors.Keys));
        foreach (var name in cpu.Tensors.Keys)
            LlamaFixtureTests.AssertClose(Read(actual, name), Read(cpu, name), Tolerance, name);
    }

    [TestCase("ilgpu-cpu", @"device\s+ilgpu-cpu \(warp 4, groups 16\)")]
    [TestCase("reference", @"device\s+reference-single")]
    [TestCase("cpu", @"device\s+cpu \((AVX2\+FMA|portable), \d+ threads\)")]
    public void InfoNamesTheDevice(string device, string line)
    {
        var (code, output, error) = Simnpo.Run("info", "--model", Fixture, "--device", device);
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        Assert.That(output, Does.Match(line));
    }

    /// <summary>
    /// Three SimNPO steps with the KL retain term (log-softmax and KL divergence besides the chunked output loss), through
    /// AdamW, gradient-norm clipping and the norm's device reduction: each step's losses and gradient norm agree within
    /// 1e-5 of the step's loss (observed: 1.1e-6). Adam divides by √v, so rounding-level differences in tiny gradients
    /// move a few parameters by up to lr; a wrong update kernel moves all of them, changing the second step's loss by
    /// 1e-3 or more. (The simulated device runs the three steps in about 5 s.)
    /// </summary>
    [Test]
    public void UnlearnStepsOnIlgpuCpuMatchCpu()
    {
        using var directory = new TempDirectory();
        JsonNode[] Steps(string device)
        {
            var data = Path.Combine(Fixture, "batch.jsonl");
            var (code, console, error) = Simnpo.Run("unlearn", "--model", Fixture, "--forget", data, "--retain", data, "--method", "simnpo", "--lr", "1e-2",
                "--epochs", "3", "--batch-size", "3", "--grad-accum", "1", "--warmup", "0", "--schedule", "constant", "--max-grad-norm", "1",
                "--retain-loss", "kl", "--device", device, "--out", directory.File(device));
            Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
            return File.ReadAllLines(Path.Combine(directory.File(device), "log.jsonl")).Select(line => JsonNode.Parse(line)!).ToArray();
        }
        var device = Steps("ilgpu-cpu");
        var cpu = Steps("cpu");
        Assert.That(device, Has.Length.EqualTo(3));
        for (var step = 0; step < cpu.Length; step++)
            foreach (var key in new[] { "loss", "forget_loss", "retain_loss", "grad_norm" })
            {
                // Relative to the step's loss too: at step 1 the KL term is 0 up to rounding (θ = ref), 1e-8 either way.
                var expected = cpu[step][key]!.GetValue<double>();
                var scale = Math.Max(Math.Abs(expected), Math.Abs(cpu[step]["loss"]!.GetValue<double>()));
                Assert.That(device[step][key]!.GetValue<double>(), Is.EqualTo(expected).Within(1e-5 * scale), $"step {step + 1} {key}");
            }
    }

    private static double[] Slice(float[] values, ParameterEntry entry) =>
        values.AsSpan((int)entry.Start, entry.Length).ToArray().Select(x => (double)x).ToArray();

    private static double[] Read(SafeTensorsFile file, string name) => file.ReadFloat32(name).Select(x => (double)x).ToArray();
}
