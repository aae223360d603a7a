using SimNpo.Kernels;
using SimNpo.Model;

namespace SimNpo.Tests.Model;

/// <summary>
/// The memory plan of a training step, sized by the allocating code (ParameterLayout, Activations), checked here
/// against figures worked out by hand from the architecture: Llama-2-7B in bf16 fits one H200 with recomputation.
/// </summary>
public class MemoryPlanTests
{
    /// <summary>Llama-2-7B's config.json, as Hugging Face publishes it (meta-llama/Llama-2-7b-hf), less the fields we ignore.</summary>
    public const string Llama2_7BConfigJson = """
        {
          "architectures": ["LlamaForCausalLM"],
          "bos_token_id": 1,
          "eos_token_id": 2,
          "hidden_act": "silu",
          "hidden_size": 4096,
          "intermediate_size": 11008,
          "max_position_embeddings": 4096,
          "model_type": "llama",
          "num_attention_heads": 32,
          "num_hidden_layers": 32,
          "num_key_value_heads": 32,
          "rms_norm_eps": 1e-05,
          "tie_word_embeddings": false,
          "torch_dtype": "float16",
          "vocab_size": 32000
        }
        """;

    /// <summary>
    /// 2 × 32000 × 4096 (embedding, untied head) + 32 × (2 × 4096 norms + 4 × 4096² attention + 3 × 4096 × 11008 MLP)
    /// + 4096 (final norm): the 6.74 B everyone quotes for Llama-2-7B.
    /// </summary>
    public const long Llama2_7BParameters = 6_738_415_616;

    internal static LlamaConfig Llama2_7B()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(directory.File("config.json"), Llama2_7BConfigJson);
        return ModelFiles.LoadConfig(directory.Path);
    }

    [TestCase("untied")]
    [TestCase("tied")]
    public void TheParameterCountIsTheLayoutsTotal(string configuration)
    {
        var config = ModelFiles.LoadConfig(Path.Combine(AppContext.BaseDirectory, "Fixtures", "llama", configuration));
        Assert.That(ParameterLayout.Count(config), Is.EqualTo(new ParameterLayout(config).TotalLength));
    }

    [Test]
    public void Llama2_7BHasMoreParametersThanOneBufferHoldsAndTheyAreCounted()
    {
        var config = Llama2_7B();
        Assert.That(ParameterLayout.Count(config), Is.EqualTo(Llama2_7BParameters));
        Assert.That(Llama2_7BParameters, Is.GreaterThan(Array.MaxLength));
    }

    /// <summary>
    /// bf16 weights and gradients (2 bytes each), float32 master weights (4) and two float32 moments (8): 16 bytes per
    /// parameter, 107.81 GB. Activations at 4 × 512 with recomputation, every position scored: 1.14 GB of bf16 activations
    /// and float32 statistics (ActivationMemoryTests' hand count) less the loss's 2048 × 4097 float32 scratch (its own line,
    /// 33.6 MB), plus 4 × (2 × 2048 + 4 + 3 × 2048) bytes of batch indices. Total 108.96 GB: fits an H200's 141 GB.
    /// </summary>
    [Test]
    public void Llama2_7BInBf16WithRecomputationAt4x512TakesAtMost141Gigabytes()
    {
        var plan = MemoryPlan.ForTraining(Llama2_7B(), Precision.Bf16, Storage.Native, Recompute.Layers, 4, 512);
        const long p = Llama2_7BParameters;
        Assert.That(plan.Weights, Is.EqualTo(2 * p));
        Assert.That(plan.MasterWeights, Is.EqualTo(4 * p));
        Assert.That(plan.Moments, Is.EqualTo(8 * p));
        Assert.That(plan.Gradients, Is.EqualTo(2 * p));
        const long lossScratch = 2048L * 4097 * 4;
        Assert.That(plan.LossScratch, Is.EqualTo(lossScratch));
        Assert.That(plan.Activations, Is.EqualTo(1_143_267_360 - lossScratch + 4 * (2 * 2048 + 4 + 3 * 2048)));
        Assert.That(plan.Total, Is.EqualTo(108_957_958_192));
        Assert.That(MemoryPlan.Gigabytes(plan.Total), Is.LessThanOrEqualTo(141));
        Assert.That(plan.Fits(141), Is.True);
        Assert.DoesNotThrow(() => plan.EnsureFits(141));
        TestContext.Out.WriteLine(string.Join("\n", plan.Lines.Select(line => $"{line.Name,-32}{MemoryPlan.Gigabytes(line.Bytes),9:F3} GB")));
    }

    [Test]
    public void Bf16OptimizerStateHalvesTheMoments()
    {
        var fp32 = MemoryPlan.ForTraining(Llama2_7B(), Precision.Bf16, Storage.Native, Recompute.Layers, 4, 512);
        var bf16 = MemoryPlan.ForTraining(Llama2_7B(), Precision.Bf16, Storage.BFloat16, Recompute.Layers, 4, 512);
        Assert.That(bf16.Moments * 2, Is.EqualTo(fp32.Moments));
        Assert.That(fp32.Total - bf16.Total, Is.EqualTo(4 * Llama2_7BParameters));
    }

    /// <summary>
    /// In float32 there are no master weights: 4 + 4 + 8 = 16 bytes per parameter again (107.81 GB), and without
    /// recomputation 32 layers of float32 activations (17.9 GB) and the loss scratch on top: 125.74 GB, more than an 80 GB H100.
    /// </summary>
    [Test]
    public void APlanThatDoesNotFitIsRefusedNamingWhatWouldShrinkIt()
    {
        var plan = MemoryPlan.ForTraining(Llama2_7B(), Precision.Fp32, Storage.Native, Recompute.None, 4, 512);
        Assert.That(plan.MasterWeights, Is.Zero);
        Assert.That(plan.Weights + plan.Gradients + plan.Moments, Is.EqualTo(16 * Llama2_7BParameters));
        Assert.That(MemoryPlan.Gigabytes(plan.Activations), Is.EqualTo(17.9).Within(0.05));
        var refusal = Assert.Throws<InsufficientMemoryException>(() => plan.EnsureFits(80))!;
        Assert.That(refusal.Message, Does.Contain("125.74 GB").And.Contain("80 GB").And.Contain("--recompute layers").And.Contain("--precision bf16")
            .And.Contain("--optimizer-state bf16"));
    }

    [Test]
    public void ASequenceLongerThanTheModelsPositionsIsRefused() =>
        Assert.That(() => MemoryPlan.ForTraining(Llama2_7B(), Precision.Bf16, Storage.Native, Recompute.Layers, 1, 4097),
            Throws.ArgumentException.With.Message.Contains("4096 positions"));
}
