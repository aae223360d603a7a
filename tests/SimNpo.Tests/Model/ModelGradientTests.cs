using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Unlearn.Methods;
using SimNpo.Unlearn.Objectives;

namespace SimNpo.Tests.Model;

/// <summary>The whole graph's backward against central finite differences of the loss, in float64, for every parameter.</summary>
public class ModelGradientTests
{
    private static LlamaConfig TinyConfig(bool tied, Llama3RopeScaling? scaling, int? window = null) =>
        LlamaConfig.Shaped(hidden: 8, intermediate: 12, layers: 2, heads: 4, kvHeads: 2, headDim: 4, vocab: 11, maxPositions: 32)
            with { RopeTheta = 300, RopeScaling = scaling, TieWordEmbeddings = tied, SlidingWindow = window };

    private static TokenBatch Batch() => TokenBatch.FromExamples(
    [
        new TokenizedExample([1, 5, 7], [3, 9, 4, 2]),
        new TokenizedExample([1, 6], [8, 2]),
        new TokenizedExample([1, 10, 3, 3], [5, 2]),
    ]);

    /// <summary>
    /// Step h = 1e-5 in float64: truncation ~h²·|f'''| ≈ 1e-10 and rounding ~1e-16·|f|/h ≈ 1e-11, so analytic and
    /// numeric derivatives agree to ~1e-9; the bound 1e-7·(1 + |g|) still catches any wrong term (those are O(|g|)).
    /// </summary>
    [TestCase(false, false, "simnpo")]
    [TestCase(true, true, "simnpo")]
    [TestCase(false, true, "nll")]
    [TestCase(true, false, "npo")]
    [TestCase(false, false, "simnpo", 3)] // a sliding window of 3 over sequences of 4 to 7 tokens
    public void EveryParameterGradientMatchesFiniteDifferences(bool tied, bool scaled, string objectiveName, int? window = null) =>
        CompareWithFiniteDifferences(TinyConfig(tied, scaled ? new Llama3RopeScaling(4, 1, 2, 8) : null, window), objectiveName);

    /// <summary>
    /// Each family's features on the same tiny shape, with random biases (0.3) so that every bias term counts: Qwen2's
    /// q/k/v biases (tied head), Phi's LayerNorms, parallel block, partial rotary (2 of 4 dims), plain GELU MLP and
    /// biases everywhere including lm_head, Gemma's (1 + w) norms, √hidden embeddings, GeGLU and head_dim 6 ≠ hidden/heads.
    /// </summary>
    [TestCase("qwen2")]
    [TestCase("phi")]
    [TestCase("gemma")]
    public void EveryParameterGradientMatchesFiniteDifferencesInEachFamily(string family) => CompareWithFiniteDifferences(family switch
    {
        "qwen2" => TinyConfig(tied: true, null) with { Architecture = "Qwen2ForCausalLM" },
        "phi" => TinyConfig(tied: false, null) with { Architecture = "PhiForCausalLM", PartialRotaryFactor = 0.5 },
        _ => TinyConfig(tied: true, null) with { Architecture = "GemmaForCausalLM", HeadDim = 6 },
    }, "simnpo");

    private static void CompareWithFiniteDifferences(LlamaConfig config, string objectiveName)
    {
        using var model = new LlamaModel<double>(config, new ReferenceOps<double>());
        ModelInitializer.Randomize(model, seed: 7, std: 0.4, normStd: 0.2, biasStd: 0.3);
        var batch = Batch();
        var objective = TrainingMethods.Get(objectiveName).Objective(beta: 1.5, gamma: 0.3, referenceLogProbs: [-9.0, -4.0, -5.5]);

        var pass = model.Forward(batch);
        var value = objective.Evaluate(pass.Scores);
        model.ZeroGradients();
        pass.Backward(value.SequenceWeights);
        var analytic = model.Gradients.ToArray();

        var parameters = model.Parameters.Chunks.Single().All.Span;
        const double h = 1e-5;
        var worst = 0.0;
        for (var i = 0; i < parameters.Length; i++)
        {
            var original = parameters[i];
            parameters[i] = original + h;
            var plus = objective.Evaluate(model.Forward(batch).Scores).Loss;
            parameters[i] = original - h;
            var minus = objective.Evaluate(model.Forward(batch).Scores).Loss;
            parameters[i] = original;
            var numeric = (plus - minus) / (2 * h);
            var error = Math.Abs(analytic[i] - numeric) / (1 + Math.Abs(numeric));
            worst = Math.Max(worst, error);
            Assert.That(error, Is.LessThan(1e-7), $"{NameOf(model.Layout, i)}: analytic {analytic[i]}, numeric {numeric}");
        }
        TestContext.Out.WriteLine($"worst relative error {worst:E2} over {parameters.Length} parameters");
        Assert.That(analytic.Count(g => g != 0), Is.GreaterThan(parameters.Length / 2), "most gradients are non-zero");
    }

    private static string NameOf(ParameterLayout layout, int index)
    {
        var entry = layout.Entries.Last(e => (int)e.Start <= index);
        return $"{entry.Name}[{index - (int)entry.Start}]";
    }
}
