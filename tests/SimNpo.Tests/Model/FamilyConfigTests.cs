using System.Text.Json.Nodes;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Model.Families;
using SimNpo.Model.IO;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Model;

/// <summary>
/// Each family's config.json: the features it turns on, its tensor names, what a fresh model starts at, which
/// tensors AdamW decays, what it refuses (listing what is supported), and a save and load that gives the same config.
/// </summary>
public class FamilyConfigTests
{
    private static string FixtureConfig(string family) => Path.Combine(FamilyFixtureTests.Directory(family), "config.json");

    private static JsonObject Json(string family) => JsonNode.Parse(File.ReadAllText(FixtureConfig(family)))!.AsObject();

    [TestCase("mistral", "Mistral", NormKind.RmsNorm, AttentionBiases.None, false, false, false, false)]
    [TestCase("qwen2", "Qwen2", NormKind.RmsNorm, AttentionBiases.QueryKeyValue, false, false, false, false)]
    [TestCase("phi", "Phi", NormKind.LayerNorm, AttentionBiases.All, true, true, false, true)]
    [TestCase("gemma", "Gemma", NormKind.RmsNormPlusOne, AttentionBiases.None, false, false, true, false)]
    public void EachFamilyStatesItsFeatures(string directory, string name, NormKind norm, AttentionBiases biases, bool parallel, bool mlpBiases,
        bool scalesEmbedding, bool headBias)
    {
        var family = LlamaConfig.Load(FixtureConfig(directory)).Family;
        Assert.That((family.Name, family.Norm, family.AttentionBiases, family.ParallelBlock, family.MlpBiases, family.ScalesEmbedding, family.HeadBias),
            Is.EqualTo((name, norm, biases, parallel, mlpBiases, scalesEmbedding, headBias)));
        Assert.That(family.GatedMlp, Is.EqualTo(!parallel), "Phi's MLP is fc2(act(fc1)), the others gated");
        Assert.That(family.Activation, Is.EqualTo(name is "Phi" or "Gemma" ? Activation.GeluTanh : Activation.Silu));
    }

    [Test]
    public void ReadsEachFamilysOwnKeys()
    {
        var mistral = LlamaConfig.Load(FixtureConfig("mistral"));
        Assert.That((mistral.SlidingWindow, mistral.NormEps), Is.EqualTo(((int?)3, 1e-5)));
        var qwen = LlamaConfig.Load(FixtureConfig("qwen2"));
        Assert.That((qwen.SlidingWindow, qwen.TieWordEmbeddings, qwen.RopeTheta), Is.EqualTo(((int?)null, true, 1e6)),
            "use_sliding_window false: the window is ignored, as transformers does");
        var phi = LlamaConfig.Load(FixtureConfig("phi"));
        Assert.That((phi.NormEps, phi.HeadDim, phi.RotaryDim, phi.NumKeyValueHeads, phi.TieWordEmbeddings), Is.EqualTo((1e-5, 8, 4, 2, false)),
            "layer_norm_eps, head_dim = hidden/heads, int(8·0.5) rotary dims, null kv heads = heads");
        var gemma = LlamaConfig.Load(FixtureConfig("gemma"));
        Assert.That((gemma.HeadDim, gemma.QueryWidth, gemma.HiddenSize, gemma.TieWordEmbeddings, gemma.BosTokenId, gemma.EosTokenId),
            Is.EqualTo((8, 32, 24, true, 2, 1)));
    }

    [TestCase("mistral")]
    [TestCase("qwen2")]
    [TestCase("phi")]
    [TestCase("gemma")]
    public void ASavedConfigLoadsAsTheSameModel(string family)
    {
        using var directory = new TempDirectory();
        var config = LlamaConfig.Load(FixtureConfig(family));
        config.Save(directory.File("config.json"));
        Assert.That(LlamaConfig.Load(directory.File("config.json")), Is.EqualTo(config));
    }

    /// <summary>The layout holds exactly the tensors the fixture's checkpoint (written from the PyTorch definitions) holds.</summary>
    [TestCase("mistral", 6_736)]
    [TestCase("qwen2", 5_904)]
    [TestCase("phi", 6_528)]
    [TestCase("gemma", 11_256)]
    public void TheLayoutHasTheCheckpointsTensorsByTheirHuggingFaceNames(string family, long parameters)
    {
        var directory = FamilyFixtureTests.Directory(family);
        var layout = new ParameterLayout(ModelFiles.LoadConfig(directory));
        using var checkpoint = SimNpo.Model.SafeTensors.SafeTensorsCheckpoint.Open(directory);
        Assert.That(layout.Entries.Select(entry => entry.Name), Is.EquivalentTo(checkpoint.Tensors.Keys));
        foreach (var entry in layout.Entries)
            Assert.That(checkpoint.Tensors[entry.Name].Shape, Is.EqualTo(entry.Shape.Select(d => (long)d)), entry.Name);
        Assert.That(layout.TotalLength, Is.EqualTo(parameters));
        Assert.That(ParameterLayout.Count(ModelFiles.LoadConfig(directory)), Is.EqualTo(parameters), "what the memory plan counts");
    }

    [Test]
    public void PhisLayoutNamesItsOwnTensors()
    {
        var layout = new ParameterLayout(ModelFiles.LoadConfig(FamilyFixtureTests.Directory("phi")));
        var layer = layout.Layers[1];
        Assert.That(new[] { layer.InputNorm.Bias!.Name, layer.Output.Weight.Name, layer.Output.Bias!.Name, layer.Up.Weight.Name, layer.Down.Bias!.Name },
            Is.EqualTo(new[]
            {
                "model.layers.1.input_layernorm.bias", "model.layers.1.self_attn.dense.weight", "model.layers.1.self_attn.dense.bias",
                "model.layers.1.mlp.fc1.weight", "model.layers.1.mlp.fc2.bias",
            }));
        Assert.That((layer.PostAttentionNorm, layer.Gate), Is.EqualTo(((NormParameters?)null, (LinearParameters?)null)));
        Assert.That((layout.FinalNorm.Bias!.Name, layout.OutputBias!.Name), Is.EqualTo(("model.final_layernorm.bias", "lm_head.bias")));
    }

    /// <summary>
    /// A fresh model: matrices random, norm weights at their neutral value (1; Gemma's 0, as it scales by 1 + w), biases
    /// (Phi's LayerNorm and projection biases, Qwen2's q/k/v biases) 0.
    /// </summary>
    [TestCase("qwen2", 1.0, 6)]
    [TestCase("phi", 1.0, 16)]
    [TestCase("gemma", 0.0, 0)]
    public void AFreshModelStartsAtNeutralNormsAndZeroBiases(string family, double normWeight, int biasTensors)
    {
        using var model = new LlamaModel<double>(ModelFiles.LoadConfig(FamilyFixtureTests.Directory(family)), new ReferenceOps<double>());
        ModelInitializer.Randomize(model, seed: 3, std: 0.1);
        var biases = 0;
        foreach (var entry in model.Layout.Entries)
        {
            var values = model.Weight(entry).ToArray();
            if (ParameterLayout.IsNormWeight(entry.Name)) Assert.That(values, Is.All.EqualTo(normWeight), entry.Name);
            else if (ParameterLayout.IsBias(entry.Name))
            {
                biases++;
                Assert.That(values, Is.All.EqualTo(0.0), entry.Name);
            }
            else Assert.That(values.Select(Math.Abs).Max(), Is.GreaterThan(0.05), entry.Name);
        }
        // Qwen2: q, k, v per layer; Phi: per layer the LayerNorm's, q, k, v, dense, fc1, fc2, then the final LayerNorm's and lm_head's.
        Assert.That(biases, Is.EqualTo(biasTensors));
    }

    /// <summary>
    /// The memory plan sizes activations by the carving itself: against a Llama of Phi's shape, Phi keeps each LayerNorm's
    /// means (2 per layer with the final one: one norm per parallel block, plus the final) but no second norm's output or
    /// statistic, no gate and no gate gradient.
    /// </summary>
    [Test]
    public void TheMemoryPlanCountsLayerNormMeansAndNoGate()
    {
        var phi = ModelFiles.LoadConfig(FamilyFixtureTests.Directory("phi"));
        var llama = phi with { Architecture = "LlamaForCausalLM", PartialRotaryFactor = 1 };
        var shape = new ActivationShape(2, 16, 32, FullLogits: false);
        var (phiSize, llamaSize) = (Activations<float>.Count(phi, shape), Activations<float>.Count(llama, shape));
        int rows = shape.Rows, layers = phi.NumHiddenLayers, hidden = phi.HiddenSize, ffn = phi.IntermediateSize;
        Assert.That(phiSize.StatisticElements - llamaSize.StatisticElements, Is.EqualTo((long)rows * (layers + 1) - (long)rows * layers));
        Assert.That(llamaSize.BulkElements - phiSize.BulkElements, Is.EqualTo((long)layers * rows * (hidden + ffn) + (long)rows * ffn));
        var plan = MemoryPlan.ForTraining(phi, Precision.Fp32, Storage.Native, Recompute.None, 2, 16);
        Assert.That(plan.Parameters, Is.EqualTo(6_528), "biases and LayerNorm biases included");
    }

    /// <summary>Hugging Face Trainer's groups: no decay for any bias nor any norm weight (LayerNorm, RMSNorm), decay for the rest.</summary>
    [Test]
    public void AdamWDecaysNeitherBiasesNorNormWeights()
    {
        var layout = new ParameterLayout(ModelFiles.LoadConfig(FamilyFixtureTests.Directory("phi")));
        var settings = new AdamWSettings();
        var undecayed = layout.Entries.Where(entry => !settings.Decays(entry.Name)).Select(entry => entry.Name).ToList();
        // Per layer: the LayerNorm's weight and bias, q/k/v/dense biases, fc1/fc2 biases; then the final LayerNorm and lm_head.bias.
        Assert.That(undecayed, Has.Count.EqualTo(2 * 8 + 3));
        Assert.That(undecayed, Does.Contain("model.layers.0.input_layernorm.weight").And.Contain("model.layers.1.mlp.fc2.bias").And.Contain("lm_head.bias"));
        Assert.That(settings.Decays("model.layers.0.mlp.fc1.weight") && settings.Decays("lm_head.weight"));
        Assert.That(layout.Entries.All(entry => new AdamWSettings(DecayNormWeights: true).Decays(entry.Name)), "the one-group setting decays all");
    }

    [TestCase("architectures", "[\"Gemma2ForCausalLM\"]", "architecture 'Gemma2ForCausalLM' is not supported: Gemma-2's logit soft-capping")]
    [TestCase("architectures", "[\"GPT2LMHeadModel\"]", "architecture 'GPT2LMHeadModel' is not supported (supported: LlamaForCausalLM (")]
    [TestCase("qk_layernorm", "true", "qk_layernorm = true is not supported")]
    [TestCase("hidden_act", "\"relu\"", "hidden_act 'relu' is not supported (only gelu_new or gelu_pytorch_tanh)")]
    [TestCase("partial_rotary_factor", "0.2", "partial_rotary_factor (0.2) must turn an even, positive number of head_dim's 8 dims, got 1")]
    [TestCase("partial_rotary_factor", "0.1", "got 0")]
    public void PhiRefusesWhatItCannotRun(string field, string value, string expected) => AssertRefused("phi", field, value, expected);

    [TestCase("qwen2", "use_sliding_window", "true", "use_sliding_window = true is not supported (Qwen2's per-layer windows")]
    [TestCase("qwen2", "hidden_act", "\"gelu\"", "hidden_act 'gelu' is not supported (only silu)")]
    [TestCase("gemma", "hidden_activation", "\"gelu\"", "hidden_activation 'gelu' is not supported (only gelu_pytorch_tanh or gelu_new)")]
    [TestCase("gemma", "attention_bias", "true", "attention_bias = true is not supported")]
    [TestCase("mistral", "hidden_act", "\"gelu\"", "hidden_act 'gelu' is not supported (only silu)")]
    public void FamiliesRefuseWhatTheyCannotRun(string family, string field, string value, string expected) => AssertRefused(family, field, value, expected);

    /// <summary>The message lists every supported architecture with its models.</summary>
    [Test]
    public void AnUnsupportedArchitectureIsRefusedListingTheSupportedOnes()
    {
        var json = Json("mistral");
        json.Remove("architectures");
        json["model_type"] = "gemma2";
        var error = Assert.Throws<BadInputException>(() => LlamaConfig.FromJson(json, "dir/config.json"))!;
        foreach (var family in ModelFamilies.All)
            Assert.That(error.Message, Does.Contain($"{family.Architecture} ({family.Models})"));
        Assert.That(error.Message, Does.Contain("'Gemma2ForCausalLM' is not supported"));
    }

    /// <summary>Without hidden_activation, transformers' Gemma runs the tanh GELU even where hidden_act says "gelu" (gemma-2b's first config).</summary>
    [Test]
    public void GemmaWithoutHiddenActivationTakesHiddenActGeluAsTheTanhGelu()
    {
        var json = Json("gemma");
        json.Remove("hidden_activation");
        Assert.That(LlamaConfig.FromJson(json, "config.json").Family.Activation, Is.EqualTo(Activation.GeluTanh));
        json.Remove("head_dim");
        Assert.That(LlamaConfig.FromJson(json, "config.json").HeadDim, Is.EqualTo(256), "GemmaConfig's default head_dim");
    }

    private static void AssertRefused(string family, string field, string value, string expected)
    {
        var json = Json(family);
        json[field] = JsonNode.Parse(value);
        var error = Assert.Throws<BadInputException>(() => LlamaConfig.FromJson(json, "dir/config.json"))!;
        Assert.That(error.Message, Does.StartWith("dir/config.json: ").And.Contain(expected));
    }
}
