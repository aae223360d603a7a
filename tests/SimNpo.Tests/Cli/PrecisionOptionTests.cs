using SimNpo.Cli;
using SimNpo.Model;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Tests.Cli;

/// <summary>
/// --precision on every command that runs the model: a precision the device cannot store is a usage error naming it
/// before anything is read or written, and bf16 runs where the device stores it.
/// </summary>
public class PrecisionOptionTests
{
    private static string[] Command(TinyRun run, string name) => name switch
    {
        "grad" => ["grad", "--model", run.Model, "--data", run.Forget, "--out", run.File("grad.safetensors")],
        "unlearn" => run.Unlearn(run.File("unlearned")),
        "finetune" => ["finetune", "--model", run.Model, "--data", run.Forget, "--out", run.File("tuned")],
        "relearn" => ["relearn", "--model", run.Model, "--data", run.Forget, "--out", run.File("relearned")],
        "generate" => ["generate", "--model", run.Model, "--max-new-tokens", "3"],
        "eval tofu" => ["eval", "tofu", "--model", run.Model, "--data-dir", run.File("tofu"), "--out", run.File("tofu.json")],
        "eval muse" => ["eval", "muse", "--model", run.Model, "--data", run.File("muse"), "--out", run.File("muse.json")],
        "tofu" => ["tofu", "--model", run.Model, "--data-dir", run.File("tofu"), "--out", run.File("protocol")],
        "demo" => ["demo", "--out", run.File("demo")],
        "profile" => ["profile", "--model", run.Model, "--batch-size", "1", "--seq-len", "8", "--steps", "1"],
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [TestCase("grad")]
    [TestCase("unlearn")]
    [TestCase("finetune")]
    [TestCase("relearn")]
    [TestCase("generate")]
    [TestCase("eval tofu")]
    [TestCase("eval muse")]
    [TestCase("tofu")]
    [TestCase("demo")]
    [TestCase("profile")]
    public void Bf16OnTheReferenceDeviceIsAUsageErrorBeforeAnythingIsWritten(string name)
    {
        using var run = new TinyRun();
        var before = Directory.GetFileSystemEntries(run.File("")).Order().ToArray();
        var (code, _, error) = Simnpo.Run([.. Command(run, name), "--device", "reference", "--precision", "bf16"]);
        Assert.That(code, Is.EqualTo(CommandRunner.Usage), error);
        Assert.That(error, Does.Contain("--precision bf16: the reference-single device cannot run it"));
        Assert.That(Directory.GetFileSystemEntries(run.File("")).Order(), Is.EqualTo(before), "nothing written");
    }

    /// <summary>grad in bf16 writes bf16-rounded gradients of the same batch: within the whole-model bound of LlamaFixtureTests (72·2⁻⁸ of the
    /// largest).</summary>
    [Test]
    public void GradInBf16IsCloseToFp32()
    {
        using var run = new TinyRun();
        double[] Gradient(string precision)
        {
            var file = run.File($"grad-{precision}.safetensors");
            var (code, _, error) = Simnpo.Run("grad", "--model", run.Model, "--data", run.Forget, "--out", file, "--device", "cpu", "--precision", precision);
            Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
            using var tensors = SafeTensorsFile.Open(file);
            return tensors.ReadFloat32("grad.model.layers.0.mlp.down_proj.weight").Select(x => (double)x).ToArray();
        }
        var (fp32, bf16) = (Gradient("fp32"), Gradient("bf16"));
        Assert.That(bf16, Is.Not.EqualTo(fp32), "the bf16 run stores in bf16");
        var scale = fp32.Max(Math.Abs);
        Assert.That(bf16.Zip(fp32, (b, f) => Math.Abs(b - f)).Max() / scale, Is.LessThan(72 * SimNpo.Kernels.BFloat16.UnitRoundoff));
    }

    [Test]
    public void GenerateRunsInBf16()
    {
        using var run = new TinyRun();
        var model = TinyModelFiles.SaveModel(run.File("with-tokenizer"));
        var (code, output, error) = Simnpo.Run("generate", "--model", model, "--prompt", "ab", "--max-new-tokens", "3", "--device", "cpu", "--precision",
            "bf16");
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        Assert.That(output.Trim(), Does.StartWith("ab"));
    }
}
