using System.Text;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Tests.SafeTensors;

public class SafeTensorsValidationTests
{
    private const string W4 = """{"dtype":"F32","shape":[1],"data_offsets":[0,4]}""";

    private static string Refusal(Action<string> writeFile)
    {
        using var directory = new TempDirectory();
        var path = directory.File("bad.safetensors");
        writeFile(path);
        var error = Assert.Throws<BadInputException>(() => SafeTensorsFile.Open(path).Dispose())!;
        Assert.That(error.File, Is.EqualTo(path));
        return error.Problem;
    }

    [TestCase("""{"w":""", 0, "header is not valid JSON")]
    [TestCase("""{} x""", 0, "header is not valid JSON")]
    [TestCase("""[1, 2]""", 0, "header is not a JSON object")]
    [TestCase(""" {}""", 0, "header is not a JSON object")]
    [TestCase("""{"w":[1]}""", 0, "tensor 'w': entry must be a JSON object, not Array")]
    [TestCase("""{"w":{"shape":[1],"data_offsets":[0,4]}}""", 4, "tensor 'w': missing 'dtype'")]
    [TestCase("""{"w":{"dtype":"F32","data_offsets":[0,4]}}""", 4, "tensor 'w': missing 'shape'")]
    [TestCase("""{"w":{"dtype":"F32","shape":[1]}}""", 4, "tensor 'w': missing 'data_offsets'")]
    [TestCase("""{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}""", 4, "tensor 'w': 'dtype' must be a JSON String, not Number")]
    [TestCase("""{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}""", 4, "tensor 'w': 'shape' must be a JSON Array, not String")]
    [TestCase("""{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", 4, "tensor 'w': 'shape' must hold integers, found 1.5")]
    [TestCase("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}}""", 4, "tensor 'w': 'data_offsets' must hold integers, found \"4\"")]
    [TestCase("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}""", 4, "tensor 'w': unknown field 'extra'")]
    [TestCase("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}""", 0, "tensor 'w': negative dimension in shape [-1]")]
    [TestCase("""{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,4]}}""", 4, "tensor 'w': unknown dtype 'F128'")]
    [TestCase("""{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}""", 4, "tensor 'w': unknown dtype 'f32'")]
    [TestCase("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", 4, "'data_offsets' must hold 2 integers [begin, end], found 1")]
    [TestCase("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", 4, "data_offsets [4, 0] must satisfy 0 <= begin <= end")]
    [TestCase("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4, "data_offsets [0, 4] span 4 bytes, but shape [2] of F32 needs 8")]
    [TestCase("""{"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}""", 0, "of F64 overflows a 64-bit byte count")]
    [TestCase("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12,
        "gap in the data buffer: bytes [4, 8) before tensor 'b' belong to no tensor")]
    [TestCase("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "gap in the data buffer: bytes [0, 4) before tensor 'a'")]
    [TestCase("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8,
        "tensor 'b': data_offsets [4, 8] overlap the tensor before it, which ends at 8")]
    [TestCase("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4,
        "tensor 'a': data_offsets [0, 8] run past the data buffer, which holds 4 bytes (truncated file?)")]
    [TestCase("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 8, "the data buffer holds 8 bytes but the tensors cover only 4: 4 trailing bytes")]
    [TestCase("""{"__metadata__":{"a":1}}""", 0, "__metadata__ value for 'a' must be a string, not Number")]
    [TestCase("""{"__metadata__":"a"}""", 0, "__metadata__ must be a JSON object, not String")]
    public void RefusesHeader(string header, int dataLength, string expected) =>
        Assert.That(Refusal(path => SafeTensorsBytes.Write(path, header, new byte[dataLength])), Does.Contain(expected));

    [Test]
    public void RefusesDuplicateTensorNames() =>
        Assert.That(Refusal(path => SafeTensorsBytes.Write(path, $$"""{"w":{{W4}},"w":{{W4}}}""", new byte[4])),
            Does.StartWith("header is not valid JSON").And.Contain("'w'"));

    [Test]
    public void RefusesDuplicateFieldsInAnEntry() =>
        Assert.That(Refusal(path => SafeTensorsBytes.Write(path, """{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4])),
            Does.StartWith("header is not valid JSON").And.Contain("'dtype'"));

    [Test]
    public void RefusesInvalidUtf8() =>
        Assert.That(Refusal(path => SafeTensorsBytes.Write(path, [.. "{\""u8, 0xFF, .. "\":1}"u8], [])), Is.EqualTo("header is not valid UTF-8"));

    [Test]
    public void RefusesAnEmptyFile() => Assert.That(Refusal(path => File.WriteAllBytes(path, [])), Is.EqualTo("file is empty"));

    [Test]
    public void RefusesAFileShorterThanTheLengthField() =>
        Assert.That(Refusal(path => File.WriteAllBytes(path, [2, 0, 0, 0, 0])), Is.EqualTo("file holds 5 bytes, fewer than the 8-byte header length"));

    [Test]
    public void RefusesAHeaderLengthPastTheEndOfTheFile() =>
        Assert.That(Refusal(path => SafeTensorsBytes.WriteRaw(path, 100, "{}"u8.ToArray())),
            Is.EqualTo("header length 100 runs past the end of the file, which holds 10 bytes"));

    [Test]
    public void RefusesAHeaderOverTheFormatsLimit() =>
        Assert.That(Refusal(path => SafeTensorsBytes.WriteRaw(path, 100_000_001, "{}"u8.ToArray())),
            Is.EqualTo("header length 100000001 exceeds the format's limit of 100000000 bytes"));

    [Test]
    public void RefusesAMissingFile()
    {
        using var directory = new TempDirectory();
        Assert.That(Assert.Throws<BadInputException>(() => SafeTensorsFile.Open(directory.File("none.safetensors")))!.Problem, Is.EqualTo("file not found"));
    }

    [Test]
    public void AcceptsSpacePaddingEmptyTensorsAndNoTensors()
    {
        using var directory = new TempDirectory();
        var path = directory.File("ok.safetensors");
        // An empty tensor may sit anywhere, even at the same offset as a non-empty one.
        SafeTensorsBytes.Write(path,
            $$$"""{"e":{"dtype":"I8","shape":[0],"data_offsets":[4,4]},"w":{{{W4}}},"z":{"dtype":"U8","shape":[3,0],"data_offsets":[0,0]}}   """,
            BitConverter.GetBytes(2.5f));
        using (var file = SafeTensorsFile.Open(path))
        {
            Assert.That(file.Tensors.Keys, Is.EqualTo(new[] { "e", "w", "z" }));
            Assert.That(file.ReadFloat32("w"), Is.EqualTo(new[] { 2.5f }));
            Assert.That(file.Metadata, Is.Empty);
        }

        SafeTensorsBytes.Write(path, Encoding.UTF8.GetBytes("{}"), []);
        using var emptyFile = SafeTensorsFile.Open(path);
        Assert.That(emptyFile.Tensors, Is.Empty);
    }
}
