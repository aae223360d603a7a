using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Model.Generation;
using SimNpo.Model.SafeTensors;
using SimNpo.Unlearn.Data;

namespace SimNpo.Tests.Model;

/// <summary>
/// Mistral, Qwen2, Phi and Gemma against their PyTorch fixtures (tools/fixtures/make_family_fixture.py: independent
/// float64 implementations written from each family's definition, README beside the files): the scored rows' logits,
/// per-sequence log-probs, the SimNPO loss and every parameter gradient, through <see cref="LlamaFixtureTests"/>'s
/// harness. The simulated ILGPU devices run the same comparison in Kernels/Ilgpu/IlgpuFamilyTests.
/// </summary>
public class FamilyFixtureTests
{
    public static readonly string[] Families = ["mistral", "qwen2", "phi", "gemma"];

    internal static string Directory(string family) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "families", family);

    /// <summary>
    /// float64 on both sides, the same float32 weights, different summation orders: as for the Llama fixture, agreement
    /// to ~1e-12 of each tensor's largest magnitude, so 1e-10 scaled. Gemma's √24 is kept whole in float64 (Scale takes
    /// a double), as transformers casts it to the hidden dtype.
    /// </summary>
    [TestCaseSource(nameof(Families))]
    public void Float64MatchesPyTorch(string family) => LlamaFixtureTests.CompareWithFixture(Directory(family), "simnpo", 1e-10, new ReferenceOps<double>());

    /// <summary>
    /// float32 throughout: ~1e-7 relative rounding per op over a few dozen ops on a 2-layer model, as the Llama fixture
    /// derives it, so 2e-5 of each tensor's largest magnitude; a wrong bias, norm, rotation or mask is off by O(1).
    /// </summary>
    [TestCaseSource(nameof(Families))]
    public void Float32MatchesPyTorch(string family) => LlamaFixtureTests.CompareWithFixture(Directory(family), "simnpo", 2e-5, new ReferenceOps<float>());

    /// <summary>The fast CPU path is float32 throughout: the same 2e-5.</summary>
    [TestCaseSource(nameof(Families))]
    public void FastCpuMatchesPyTorch(string family) => LlamaFixtureTests.CompareWithFixture(Directory(family), "simnpo", 2e-5, new FastCpuOps());

    /// <summary>The batch as the fixture padded it, and the rotary frequencies (Phi's over 4 of its 8 head dims), float64 both sides.</summary>
    [TestCaseSource(nameof(Families))]
    public void BatchAndRopeMatchTheFixture(string family)
    {
        var directory = Directory(family);
        using var expected = SafeTensorsFile.Open(Path.Combine(directory, "expected.safetensors"));
        var config = ModelFiles.LoadConfig(directory);
        var batch = TokenBatch.FromExamples(ExampleFiles.Load(Path.Combine(directory, "batch.jsonl"), directory, config));
        Assert.That(batch.Tokens, Is.EqualTo(expected.ReadInt64("tokens").Select(x => (int)x)));
        Assert.That(batch.Targets, Is.EqualTo(expected.ReadInt64("targets").Select(x => (int)x)));
        Assert.That(RopeFrequencies.Compute(config), Is.EqualTo(expected.ReadFloat64("inv_freq")).Within(1e-15));
    }

    /// <summary>
    /// Saving writes every tensor under the family's names (here in shards of at most 8 kB with their index, as
    /// transformers shards), and loading them back gives the same config and the same bits.
    /// </summary>
    [TestCase("qwen2")]
    [TestCase("phi")]
    [TestCase("gemma")]
    public void ASavedModelLoadsBackBitForBit(string family)
    {
        using var directory = new TempDirectory();
        using var model = ModelFiles.Load(Directory(family), new ReferenceOps<float>());
        ModelFiles.Save(model, directory.Path, maxShardBytes: 8_000);
        Assert.That(File.Exists(Path.Combine(directory.Path, SafeTensorsCheckpoint.IndexFileName)), "sharded");
        using var loaded = ModelFiles.Load(directory.Path, new ReferenceOps<float>());
        Assert.That(loaded.Config, Is.EqualTo(model.Config));
        Assert.That(loaded.Parameters.ToArray(), Is.EqualTo(model.Parameters.ToArray()));
    }

    /// <summary>
    /// Generation goes through the same graph with a KV cache: for each record, every logit row of a cached decode (prefill
    /// of the prompt, then one token at a time) equals the training forward's row at that position, in float64 to ~1e-12
    /// (the generator hands its rows over as float32: 1e-6 of the row's largest logit).
    /// </summary>
    [TestCaseSource(nameof(Families))]
    public void CachedGenerationComputesTheForwardsLogits(string family)
    {
        var directory = Directory(family);
        using var model = ModelFiles.Load(directory, new ReferenceOps<double>());
        var records = ExampleFiles.Load(Path.Combine(directory, "batch.jsonl"), directory, model.Config);
        using var generator = new Generator<double>(model, capacity: records.Max(r => r.PromptIds.Count + r.AnswerIds.Count) + 1);
        foreach (var record in records)
        {
            var rows = new List<float[]>();
            var answer = record.AnswerIds.ToArray();
            var produced = generator.Generate(record.PromptIds.ToArray(), answer.Length, logits =>
            {
                rows.Add(logits);
                return answer[rows.Count - 1]; // teacher forcing: the next input is the recorded answer token
            }).ToArray();
            // The generator stops at an end-of-sequence id: the rows seen are those of the answer up to it.
            Assert.That(produced, Is.EqualTo(answer.Take(produced.Length)));
            var forward = model.ForwardLogits(TokenBatch.FromExamples([record])).ToArray();
            var vocab = model.Config.VocabSize;
            for (var i = 0; i < rows.Count; i++)
                LlamaFixtureTests.AssertClose(rows[i].Select(x => (double)x).ToArray(), forward[(i * vocab)..((i + 1) * vocab)], 1e-6, $"answer token {i}");
        }
    }
}
