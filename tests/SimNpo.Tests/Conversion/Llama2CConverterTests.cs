using System.Text;
using SimNpo.Model;
using SimNpo.Model.Conversion;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Tests.Conversion;

/// <summary>
/// A synthetic untied checkpoint whose every float is its own index after the header, so where each value lands
/// says exactly which slice of the file it came from.
/// </summary>
public class Llama2CConverterTests
{
    // dim 4, hidden 6, 1 layer, 1 head of size 4, 1 kv head, vocab 5 untied (negative), seq_len 3.
    private static readonly int[] UntiedHeader = [4, 6, 1, 1, 1, -5, 3];

    // Floats: embedding 20, rms_att 4, wq wk wv wo 16 each, rms_ffn 4, w1 w2 w3 24 each, rms_final 4, freq_cis 3·4, wcls 20.
    private const int FloatCount = 200, Wq = 24, W2 = 116, W3 = 140, RmsFinal = 164, Wcls = 180;

    private static void WriteCheckpoint(string path, int[] header, int floats)
    {
        using var writer = new BinaryWriter(File.Create(path));
        foreach (var value in header) writer.Write(value);
        for (var i = 0; i < floats; i++) writer.Write((float)i);
    }

    private static void WriteVocabulary(string path, params string[] tokens)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(tokens.Max(token => Encoding.UTF8.GetByteCount(token)));
        foreach (var (token, id) in tokens.Select((token, id) => (token, id)))
        {
            writer.Write((float)-id);
            writer.Write(Encoding.UTF8.GetByteCount(token));
            writer.Write(Encoding.UTF8.GetBytes(token));
        }
    }

    private static float[] Range(int start, int count) => Enumerable.Range(start, count).Select(i => (float)i).ToArray();

    [Test]
    public void UntiedCheckpointGetsLmHeadFromWclsAfterTheSkippedTables()
    {
        using var directory = new TempDirectory();
        WriteCheckpoint(directory.File("model.bin"), UntiedHeader, FloatCount);
        WriteVocabulary(directory.File("tok.bin"), "<unk>", "\n<s>\n", "\n</s>\n", " a", "b");
        var result = Llama2CConverter.Convert(directory.File("model.bin"), directory.File("tok.bin"), directory.File("out"));

        Assert.That(result.Config.TieWordEmbeddings, Is.False);
        Assert.That(LlamaConfig.Load(directory.File("out/config.json")), Is.EqualTo(result.Config));
        using var file = SafeTensorsFile.Open(directory.File("out/model.safetensors"));
        Assert.That(file.ReadFloat32("lm_head.weight"), Is.EqualTo(Range(Wcls, 20)));
        Assert.That(file.ReadFloat32("model.norm.weight"), Is.EqualTo(Range(RmsFinal, 4)));
        Assert.That(file.ReadFloat32("model.layers.0.mlp.up_proj.weight"), Is.EqualTo(Range(W3, 24)));
        Assert.That(file.ReadFloat32("model.layers.0.mlp.down_proj.weight"), Is.EqualTo(Range(W2, 24)));
        // One head of size 4: llama2.c rows (0,1) and (2,3) are rotary pairs; Hugging Face pairs (0,2) and (1,3),
        // so the rows come in the order 0, 2, 1, 3.
        Assert.That(file.ReadFloat32("model.layers.0.self_attn.q_proj.weight"),
            Is.EqualTo(new[] { 0, 2, 1, 3 }.SelectMany(row => Range(Wq + 4 * row, 4))));
    }

    [Test]
    public void WritesSentencePiecePiecesWithTypes()
    {
        var vocabulary = new Llama2CVocabulary(["<unk>", "\n<s>\n", "\n</s>\n", "<0x0A>", " the", "e"], [0, 0, 0, 0, -1, -2]);
        var pieces = SentencePieceModel.FromLlama2C(vocabulary, "tok.bin").Pieces;
        Assert.That(pieces.Select(piece => (piece.Piece, piece.Type)), Is.EqualTo(new[]
        {
            ("<unk>", PieceType.Unknown), ("<s>", PieceType.Control), ("</s>", PieceType.Control),
            ("<0x0A>", PieceType.Byte), ("▁the", PieceType.Normal), ("e", PieceType.Normal),
        }));
    }

    private static IEnumerable<TestCaseData> BadCheckpoints()
    {
        yield return new TestCaseData(new byte[10], "too short");
        yield return new TestCaseData(Bytes([-4, 6, 1, 1, 1, -5, 3], 0), "not a llama2.c checkpoint: every header value must be positive");
        yield return new TestCaseData(Bytes([4, 6, 1, 3, 1, -5, 3], 0), "dim must be a multiple of n_heads");
        yield return new TestCaseData(Bytes([1 << 30, 6, 1, 1, 1, -5, 3], 0), "not a plausible model size");
        yield return new TestCaseData(Bytes(UntiedHeader, FloatCount - 1), "describes 828 bytes but the file has 824");
    }

    private static byte[] Bytes(int[] header, int floats)
    {
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            foreach (var value in header) writer.Write(value);
            writer.Write(new byte[4 * floats]);
        }
        return stream.ToArray();
    }

    [TestCaseSource(nameof(BadCheckpoints))]
    public void RefusesABadCheckpointNamingIt(byte[] content, string expected)
    {
        using var directory = new TempDirectory();
        File.WriteAllBytes(directory.File("model.bin"), content);
        WriteVocabulary(directory.File("tok.bin"), "<unk>", "\n<s>\n", "\n</s>\n", " a", "b");
        var error = Assert.Throws<BadInputException>(() => Llama2CConverter.Convert(directory.File("model.bin"), directory.File("tok.bin"),
            directory.File("out")))!;
        Assert.That(error.File, Is.EqualTo(directory.File("model.bin")));
        Assert.That(error.Problem, Does.Contain(expected));
        Assert.That(Directory.Exists(directory.File("out")), Is.False, "nothing is written for a refused input");
    }

    [Test]
    public void RefusesATokenizerOfTheWrongSize()
    {
        using var directory = new TempDirectory();
        WriteCheckpoint(directory.File("model.bin"), UntiedHeader, FloatCount);
        WriteVocabulary(directory.File("tok.bin"), "<unk>", "\n<s>\n", "\n</s>\n", " a");
        var error = Assert.Throws<BadInputException>(() => Llama2CConverter.Convert(directory.File("model.bin"), directory.File("tok.bin"),
            directory.File("out")))!;
        Assert.That(error.File, Is.EqualTo(directory.File("tok.bin")));
        Assert.That(error.Problem, Does.Contain("has 4 tokens but the checkpoint"));
    }

    [Test]
    public void RefusesATokenizerCutOffInsideAToken()
    {
        using var directory = new TempDirectory();
        WriteCheckpoint(directory.File("model.bin"), UntiedHeader, FloatCount);
        WriteVocabulary(directory.File("tok.bin"), "<unk>", "\n<s>\n", "\n</s>\n", " a", "bcd");
        var bytes = File.ReadAllBytes(directory.File("tok.bin"));
        File.WriteAllBytes(directory.File("tok.bin"), bytes[..^1]);
        var error = Assert.Throws<BadInputException>(() => Llama2CConverter.Convert(directory.File("model.bin"), directory.File("tok.bin"),
            directory.File("out")))!;
        Assert.That(error.File, Is.EqualTo(directory.File("tok.bin")));
        Assert.That(error.Problem, Does.Contain("token 4 has length 3, outside 1..6 or past the end of the file"));
    }
}
