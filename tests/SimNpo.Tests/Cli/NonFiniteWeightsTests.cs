using SimNpo.Cli;
using SimNpo.Model;

namespace SimNpo.Tests.Cli;

/// <summary>A model whose weights hold NaN or infinity is refused by every command that loads it, unless --allow-nonfinite.</summary>
public class NonFiniteWeightsTests
{
    private const string Tensor = "model.layers.1.mlp.down_proj.weight";

    private static void Poison(LlamaModel<float> model)
    {
        var weights = model.Weight(model.Layout.ByName[Tensor]);
        var values = weights.ToArray();
        values[5] = float.NaN;
        values[9] = float.PositiveInfinity;
        weights.CopyFrom(values);
    }

    [Test]
    public void NaNWeightsAreRefusedNamingTensorAndFileUnlessAllowed()
    {
        using var directory = new TempDirectory();
        var model = TinyModelFiles.SaveModel(directory.File("model"), edit: Poison);
        var expected = $"error: {Path.Combine(model, "model.safetensors")}: tensor '{Tensor}' holds 2 NaN or infinite value(s), the first (NaN) at index 5; " +
            "pass --allow-nonfinite to load it anyway" + Environment.NewLine;

        var generated = Simnpo.Run("generate", "--model", model, "--prompt", "abc", "--max-new-tokens", "3");
        Assert.That(generated.Code, Is.EqualTo(CommandRunner.Failure));
        Assert.That(generated.Error, Is.EqualTo(expected));

        File.WriteAllText(directory.File("qa.jsonl"), """{"question": "abc", "answer": "def"}""" + "\n");
        var grad = Simnpo.Run("grad", "--model", model, "--data", directory.File("qa.jsonl"), "--out", directory.File("grad.safetensors"));
        Assert.That((grad.Code, grad.Error), Is.EqualTo((CommandRunner.Failure, expected)));

        var allowed = Simnpo.Run("generate", "--model", model, "--prompt", "abc", "--max-new-tokens", "3", "--allow-nonfinite");
        Assert.That(allowed.Code, Is.EqualTo(CommandRunner.Success), allowed.Error);
        Assert.That(allowed.Output, Does.StartWith("abc"));

        // The allowance lasts one invocation.
        Assert.That(Simnpo.Run("generate", "--model", model, "--prompt", "abc", "--max-new-tokens", "3").Code, Is.EqualTo(CommandRunner.Failure));
    }
}
