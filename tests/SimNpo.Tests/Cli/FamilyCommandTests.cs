using SimNpo.Cli;
using SimNpo.Model.SafeTensors;
using SimNpo.Tests.Model;

namespace SimNpo.Tests.Cli;

/// <summary>`info` names each family and its features; `grad` runs a family's fixture end to end.</summary>
public class FamilyCommandTests
{
    private static string Info(string family)
    {
        var (code, output, error) = Simnpo.Run("info", "--model", FamilyFixtureTests.Directory(family), "--batch-size", "2", "--seq-len", "16");
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);
        return output;
    }

    [TestCase("mistral", @"family\s+Mistral \(MistralForCausalLM\)", @"norm\s+RMSNorm, eps 1e-5", @"attention biases\s+none", @"sliding window\s+3 tokens",
        @"mlp\s+gated: down\(silu\(gate\) · up\)", @"lm_head\s+separate\n")]
    [TestCase("qwen2", @"family\s+Qwen2 \(Qwen2ForCausalLM\)", @"attention biases\s+q, k, v\n", @"sliding window\s+none", @"lm_head\s+tied to the embeddings",
        @"parameters\s+5,904")]
    [TestCase("phi", @"family\s+Phi \(PhiForCausalLM\)", @"norm\s+LayerNorm with bias, eps 1e-5", @"attention biases\s+q, k, v, output",
        @"mlp\s+down\(gelu_tanh\(up\)\) with biases", @"block\s+parallel: x \+ attention\(norm\(x\)\) \+ mlp\(norm\(x\)\)",
        @"rotary dims\s+4 of head_dim 8 \(partial_rotary_factor 0.5\)", @"lm_head\s+separate, with bias", @"parameters\s+6,528")]
    [TestCase("gemma", @"family\s+Gemma \(GemmaForCausalLM\)", @"norm\s+RMSNorm scaled by \(1 \+ w\), eps 1e-6",
        @"mlp\s+gated: down\(gelu_tanh\(gate\) · up\)", @"embedding scale\s+x sqrt\(hidden_size\) = 4.89898", @"rotary dims\s+8 \(all of head_dim\)",
        @"head dim\s+8", @"block\s+sequential")]
    public void InfoNamesTheFamilyAndItsFeatures(string family, params string[] lines)
    {
        var output = Info(family);
        foreach (var line in lines) Assert.That(output, Does.Match(line));
    }

    /// <summary>
    /// `grad` on Phi (LayerNorms, biases everywhere, parallel block, partial rotary) writes what PyTorch computed: float32
    /// against float64 within 2e-5 of each tensor's largest magnitude, as FamilyFixtureTests derives it; one gradient per
    /// parameter of the checkpoint, biases included.
    /// </summary>
    [Test]
    public void GradOnPhiWritesTheFixturesLossLogProbsAndEveryGradient()
    {
        using var directory = new TempDirectory();
        var model = FamilyFixtureTests.Directory("phi");
        var output = directory.File("grad.safetensors");
        var (code, _, error) = Simnpo.Run("grad", "--model", model, "--data", Path.Combine(model, "batch.jsonl"), "--objective", "simnpo",
            "--beta", "2.5", "--gamma", "0.5", "--out", output);
        Assert.That(code, Is.EqualTo(CommandRunner.Success), error);

        using var written = SafeTensorsFile.Open(output);
        using var expected = SafeTensorsFile.Open(Path.Combine(model, "expected.safetensors"));
        double[] Read(string name) => written.ReadFloat32(name).Select(x => (double)x).ToArray();
        LlamaFixtureTests.AssertClose(Read("loss"), expected.ReadFloat64("loss_simnpo"), 2e-5, "loss");
        LlamaFixtureTests.AssertClose(Read("seq_logprob"), expected.ReadFloat64("seq_logprob"), 2e-5, "seq_logprob");
        var gradients = written.Tensors.Keys.Where(name => name.StartsWith("grad.", StringComparison.Ordinal)).ToList();
        Assert.That(gradients, Is.EquivalentTo(expected.Tensors.Keys.Where(n => n.StartsWith("grad_simnpo.", StringComparison.Ordinal))
            .Select(n => "grad." + n["grad_simnpo.".Length..])));
        Assert.That(gradients, Does.Contain("grad.lm_head.bias").And.Contain("grad.model.layers.0.self_attn.dense.bias"));
        foreach (var name in gradients)
            LlamaFixtureTests.AssertClose(Read(name), expected.ReadFloat64("grad_simnpo." + name["grad.".Length..]), 2e-5, name);
    }
}
