using System.Text.Json.Nodes;
using SimNpo.Model;
using SimNpo.Model.Conversion;
using SimNpo.Model.SafeTensors;
using SimNpo.Model.Tokenizers;

namespace SimNpo.Tests.Conversion;

/// <summary>stories260K converted once; every test reads the same output directory.</summary>
public class Stories260KConversionTests
{
    private const int Dim = 64, Layers = 5, Vocab = 512, KvDim = 32, HeaderBytes = 28;
    private TempDirectory output = null!;
    private string checkpointPath = null!;
    private string tokenizerPath = null!;

    [OneTimeSetUp]
    public void Convert()
    {
        checkpointPath = Stories260K.Checkpoint;
        tokenizerPath = Stories260K.Vocabulary;
        output = new TempDirectory();
        Llama2CConverter.Convert(checkpointPath, tokenizerPath, output.Path);
    }

    [OneTimeTearDown]
    public void Remove() => output?.Dispose();

    private LlamaConfig Config() => LlamaConfig.Load(output.File("config.json"));

    /// <summary>One float32 of the raw checkpoint, by its index among the floats after the header.</summary>
    private float RawFloat(long index)
    {
        using var stream = File.OpenRead(checkpointPath);
        stream.Position = HeaderBytes + 4 * index;
        var bytes = new byte[4];
        stream.ReadExactly(bytes);
        return BitConverter.ToSingle(bytes);
    }

    [Test]
    public void ConfigDescribesTheCheckpoint()
    {
        var config = Config();
        Assert.That((config.NumHiddenLayers, config.HiddenSize, config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim),
            Is.EqualTo((5, 64, 8, 4, 8)));
        Assert.That((config.VocabSize, config.IntermediateSize, config.MaxPositionEmbeddings), Is.EqualTo((512, 172, 512)));
        Assert.That((config.TieWordEmbeddings, config.NormEps, config.RopeTheta, config.BosTokenId, config.EosTokenId),
            Is.EqualTo((true, 1e-5, 10000.0, 1, 2)));
    }

    [Test]
    public void SafetensorsHoldsEveryTensorOfTheLayoutWithItsShape()
    {
        var layout = new ParameterLayout(Config());
        using var file = SafeTensorsFile.Open(output.File("model.safetensors"));
        Assert.That(file.Tensors.Keys, Is.EquivalentTo(layout.Entries.Select(entry => entry.Name)));
        Assert.That(file.Tensors.ContainsKey("lm_head.weight"), Is.False, "tied: the output projection is the embedding");
        foreach (var entry in layout.Entries)
        {
            Assert.That(file.Tensors[entry.Name].Shape, Is.EqualTo(entry.Shape.Select(dim => (long)dim)), entry.Name);
            Assert.That(file.Tensors[entry.Name].DType, Is.EqualTo(SafeTensorsDType.F32), entry.Name);
        }
        // Copied bit for bit: the embedding's last element and the final norm's first sit where the format says.
        Assert.That(file.ReadFloat32("model.embed_tokens.weight")[^1], Is.EqualTo(RawFloat(Vocab * Dim - 1)));
        long finalNorm = Vocab * Dim + Layers * (2 * Dim + 2 * Dim * Dim + 2 * KvDim * Dim + 3 * 172 * Dim);
        Assert.That(file.ReadFloat32("model.norm.weight")[0], Is.EqualTo(RawFloat(finalNorm)));
    }

    [Test]
    public void QueryAndKeyRowsMoveFromAdjacentPairsToHalves()
    {
        using var file = SafeTensorsFile.Open(output.File("model.safetensors"));
        long wq = Vocab * Dim + Layers * Dim, wk = wq + Layers * Dim * Dim;
        // Layer 2, head 3, rotary pair 1, second element: llama2.c row 3·8 + 2·1 + 1 = 27, Hugging Face row 3·8 + 4 + 1 = 29.
        var query = file.ReadFloat32("model.layers.2.self_attn.q_proj.weight");
        Assert.That(query[29 * Dim + 5], Is.EqualTo(RawFloat(wq + 2 * Dim * Dim + 27 * Dim + 5)));
        Assert.That(query[29 * Dim + 5], Is.Not.EqualTo(RawFloat(wq + 2 * Dim * Dim + 29 * Dim + 5)), "the rows must have moved");
        // Layer 4, kv head 1, pair 3, first element: llama2.c row 8 + 6 = 14, Hugging Face row 8 + 3 = 11.
        var key = file.ReadFloat32("model.layers.4.self_attn.k_proj.weight");
        Assert.That(key[11 * Dim + 40], Is.EqualTo(RawFloat(wk + 4 * KvDim * Dim + 14 * Dim + 40)));
        // v_proj is not rotated and keeps its rows.
        var value = file.ReadFloat32("model.layers.4.self_attn.v_proj.weight");
        Assert.That(value[14 * Dim + 40], Is.EqualTo(RawFloat(wk + Layers * KvDim * Dim + 4 * KvDim * Dim + 14 * Dim + 40)));
    }

    /// <summary>
    /// Ids from Google's SentencePiece on the same vocabulary, its ModelProto built by Google's protobuf classes
    /// (tools/fixtures/stories260k_tokenizer_ids.py): the hand-written protobuf must encode identically.
    /// </summary>
    private static IEnumerable<TestCaseData> ReferenceCases()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Conversion", "stories260k_ids.json")))!;
        foreach (var item in json["cases"]!.AsArray())
            yield return new TestCaseData(item!["text"]!.GetValue<string>(), item["ids"]!.AsArray().Select(id => id!.GetValue<int>()).ToArray());
    }

    [TestCaseSource(nameof(ReferenceCases))]
    public void TokenizerEncodesAsSentencePieceAndRoundTrips(string text, int[] expected)
    {
        var tokenizer = TokenizerLoader.Load(output.Path, Config());
        Assert.That(tokenizer.Encode(text), Is.EqualTo(expected));
        Assert.That(tokenizer.Decode(expected), Is.EqualTo(text));
        Assert.That((tokenizer.VocabSize, tokenizer.BosId, tokenizer.EosId), Is.EqualTo((512, 1, 2)));
    }

    [TestCase("Lily")]
    [TestCase("Once upon a time, there was a little girl named Lily.")]
    [TestCase("The dog and the cat played in the sun")]
    public void TokenPiecesFromTok512SpellTheText(string text)
    {
        var tokenizer = TokenizerLoader.Load(output.Path, Config());
        var pieces = Llama2CVocabulary.Read(tokenizerPath).Tokens;
        var ids = tokenizer.Encode(text);
        // llama2.c stores '▁' as a space; the dummy prefix puts one before the first word.
        Assert.That(string.Concat(ids.Select(id => pieces[id])), Is.EqualTo(" " + text));
        Assert.That(ids.Count, Is.LessThan(text.Length), "BPE merges must join characters");
    }
}
