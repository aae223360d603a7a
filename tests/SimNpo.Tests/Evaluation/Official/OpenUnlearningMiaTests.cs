using System.Text.Json.Nodes;
using SimNpo.Kernels;
using SimNpo.Model;
using SimNpo.Tests.Training;
using SimNpo.Unlearn.Evaluation.Official;

namespace SimNpo.Tests.Evaluation.Official;

/// <summary>
/// open-unlearning's memorisation and MIA metrics on the Llama fixture's models against Fixtures/mia/*.json, which
/// tools/fixtures/make_mia_fixture.py computes with open-unlearning's own formulas (locuslab/open-unlearning d3d7cf9).
/// </summary>
public class OpenUnlearningMiaTests
{
    /// <summary>
    /// Both sides run in float64 from the same float32-rounded weights and differ only in summation order (~1e-16 per
    /// operation, a few hundred deep through two layers, the softmax and the backward; Min-K%++ divides by σ ≥ 0.3 here):
    /// 1e-10 relative leaves a wide margin over that and is far below any formula difference (a dropped token moves a
    /// score by ~1e-1). Scores near zero are held to 1e-12 absolute.
    /// </summary>
    private const double Relative = 1e-10;
    private const double Absolute = 1e-12;

    private sealed record Fixture(JsonObject Json, LlamaModel<double> Model, LlamaModel<double> Reference) : IDisposable
    {
        public JsonObject Metric(string name) => Json["metrics"]![name]!.AsObject();

        public void Dispose()
        {
            Model.Dispose();
            Reference.Dispose();
        }
    }

    private static Fixture Load(string configuration)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "mia", configuration + ".json")))!.AsObject();
        return new Fixture(json, LlamaFixture.Load<double>(configuration),
            ModelFiles.Load(Path.Combine(LlamaFixture.Directory(configuration), "ref"), new ReferenceOps<double>()));
    }

    private static (TokenizedExample[] Examples, string[] Texts) Items(JsonObject json, string set)
    {
        var items = json[set]!.AsArray().Select(i => i!.AsObject()).ToArray();
        int[] Ids(JsonObject item, string name) => item[name]!.AsArray().Select(id => id!.GetValue<int>()).ToArray();
        return (items.Select(i => new TokenizedExample(Ids(i, "prompt_ids"), Ids(i, "answer_ids"))).ToArray(),
            items.Select(i => i["text"]!.GetValue<string>()).ToArray());
    }

    private static MiaSetStatistics Measure(Fixture fixture, string set)
    {
        var (examples, texts) = Items(fixture.Json, set);
        // Batch size 4 puts items of different lengths in one padded batch, as open-unlearning's collator does.
        return OpenUnlearningExtras.Measure(fixture.Model, examples, texts, batchSize: 4, maxLength: 256, gradientNorms: true, fixture.Reference);
    }

    private static void AssertClose(double actual, double expected, string what, double scale = 0) =>
        Assert.That(actual, Is.EqualTo(expected).Within(Math.Max(Absolute, Relative * Math.Max(scale, Math.Abs(expected)))), what);

    /// <summary>
    /// The size of the numbers a score is the difference of: mia_reference subtracts the reference model's loss from the
    /// model's (both ~5 here, their difference as small as 0.05), so its error is relative to those losses.
    /// </summary>
    private static double Scale(Fixture fixture, string name, string side, int i)
    {
        if (name != MiaAttacks.Reference) return 0;
        var loss = Expected(fixture.Metric(MiaAttacks.Loss)[side])[i]!.Value;
        return Math.Abs(loss) + Math.Abs(loss - Expected(fixture.Metric(name)[side])[i]!.Value);
    }

    private static double?[] Expected(JsonNode? values) => values!.AsArray().Select(v => v?.GetValue<double>()).ToArray();

    private static double?[] Actual(JsonObject side) =>
        side["value_by_index"]!.AsObject().Select(p => p.Value!["score"]?.GetValue<double>()).ToArray();

    [TestCase("untied")]
    [TestCase("tied")]
    public void EveryMetricMatchesOpenUnlearningsFormulas(string configuration)
    {
        Assume.That(ZlibLength.IsExact, "mia_zlib needs the system zlib (Python's) for exact compressed lengths");
        using var fixture = Load(configuration);
        var forget = Measure(fixture, "forget");
        var metrics = OpenUnlearningExtras.Metrics(forget, forget, Measure(fixture, "holdout"), MiaAttacks.DefaultK);
        OpenUnlearningExtras.AddPrivLeak(metrics, fixture.Metric("privleak")["retain_mia_min_k_auc"]!.GetValue<double>());

        Assert.That(metrics.Select(m => m.Key), Is.EqualTo(new[]
        {
            "exact_memorization", "extraction_strength", "mia_loss", "mia_zlib", "mia_min_k", "mia_min_k_plus_plus", "mia_gradnorm", "mia_reference",
            "privleak",
        }));
        foreach (var name in new[] { Memorization.ExactMemorization, Memorization.ExtractionStrength })
        {
            var expected = Expected(fixture.Metric(name)["value_by_index"]);
            var actual = Actual(metrics[name]);
            Assert.That(actual, Has.Length.EqualTo(expected.Length));
            for (var i = 0; i < expected.Length; i++) AssertClose(actual[i]!.Value, expected[i]!.Value, $"{name} item {i}");
            AssertClose(metrics[name]["agg_value"]!.GetValue<double>(), fixture.Metric(name)["agg_value"]!.GetValue<double>(), name);
        }
        foreach (var (name, entry) in metrics.Where(m => m.Key.StartsWith("mia_", StringComparison.Ordinal)))
        {
            foreach (var side in new[] { "forget", "holdout" })
            {
                var expected = Expected(fixture.Metric(name)[side]);
                var actual = Actual(entry[side]!.AsObject());
                Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{name} {side}");
                for (var i = 0; i < expected.Length; i++)
                    AssertClose(actual[i]!.Value, expected[i]!.Value, $"{name} {side} item {i}", Scale(fixture, name, side, i));
                AssertClose(entry[side]!["agg_value"]!.GetValue<double>(), fixture.Metric(name)[side + "_mean"]!.GetValue<double>(), $"{name} {side} mean",
                    Enumerable.Range(0, expected.Length).Max(i => Scale(fixture, name, side, i)));
            }
            // The AUC counts pairs: once the scores agree to 1e-10 it is the same fraction, up to the last bit of its division.
            Assert.That(entry["auc"]!.GetValue<double>(), Is.EqualTo(fixture.Metric(name)["auc"]!.GetValue<double>()).Within(1e-15), $"{name} auc");
            Assert.That(entry["agg_value"]!.GetValue<double>(), Is.EqualTo(entry["auc"]!.GetValue<double>()));
        }
        AssertClose(metrics["privleak"]["agg_value"]!.GetValue<double>(), fixture.Metric("privleak")["agg_value"]!.GetValue<double>(), "privleak");
    }
}
