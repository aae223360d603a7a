using System.Buffers.Binary;
using System.Text;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Tests.SafeTensors;

public class SafeTensorsRoundTripTests
{
    private static readonly float[] Floats = [1.5f, -0f, float.Epsilon, float.MaxValue, 0.1f, float.NegativeInfinity];
    private static readonly double[] Doubles = [0.1, 1.0 / 3, -1e300, double.Epsilon];
    private static readonly int[] Ints = [int.MinValue, -1, 0, int.MaxValue];
    private static readonly long[] Longs = [long.MinValue, (1L << 53) + 1, long.MaxValue];

    private static List<TensorToWrite> AllKinds() =>
    [
        new("floats", [2, 3], Floats),
        new("doubles", [4], Doubles),
        new("ints", [2, 1, 2], Ints),
        new("longs", [3], Longs),
        new("scalar", [], new[] { 7.25f }),
        new("empty", [0, 3], Array.Empty<float>()),
        new("empty.longs", [2, 0], Array.Empty<long>()),
    ];

    [Test]
    public void EveryDTypeComesBackBitForBit()
    {
        using var directory = new TempDirectory();
        var path = directory.File("model.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\"" };
        SafeTensorsWriter.Write(path, AllKinds(), metadata);

        using var file = SafeTensorsFile.Open(path);
        Assert.That(file.Metadata, Is.EquivalentTo(metadata));
        Assert.That(file.Tensors.Keys, Is.EqualTo(AllKinds().Select(t => t.Name)));
        // Is.EqualTo on float arrays compares values; -0 and +0 would pass, so compare the bits.
        Assert.That(file.ReadFloat32("floats").Select(BitConverter.SingleToInt32Bits), Is.EqualTo(Floats.Select(BitConverter.SingleToInt32Bits)));
        Assert.That(file.ReadFloat64("doubles"), Is.EqualTo(Doubles));
        Assert.That(file.ReadInt32("ints"), Is.EqualTo(Ints));
        Assert.That(file.ReadInt64("longs"), Is.EqualTo(Longs));
        Assert.That(file.ReadFloat32("scalar"), Is.EqualTo(new[] { 7.25f }));
        Assert.That(file.ReadFloat32("empty"), Is.Empty);
        Assert.That(file.ReadInt64("empty.longs"), Is.Empty);

        var scalar = file.Info("scalar");
        Assert.That((scalar.Shape, scalar.ElementCount, scalar.ByteLength), Is.EqualTo((Array.Empty<long>(), 1L, 4L)));
        var ints = file.Info("ints");
        Assert.That((ints.DType, ints.Shape, ints.ElementCount), Is.EqualTo((SafeTensorsDType.I32, new long[] { 2, 1, 2 }, 4L)));
    }

    [Test]
    public void TensorsTileTheBufferInOrderAfterAHeaderPaddedTo8()
    {
        using var directory = new TempDirectory();
        var path = directory.File("model.safetensors");
        SafeTensorsWriter.Write(path, AllKinds(), new Dictionary<string, string> { ["odd"] = "x" });

        var bytes = File.ReadAllBytes(path);
        var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.That(headerLength % 8, Is.Zero);
        var header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.That(header.TrimEnd(' '), Does.EndWith("}"));
        Assert.That(header.TrimEnd(' ').Length, Is.GreaterThan(headerLength - 8), "at most 7 bytes of padding");

        using var file = SafeTensorsFile.Open(path);
        // floats 6x4, doubles 4x8, ints 4x4, longs 3x8, scalar 4, then two empty tensors at the end.
        long[] expectedBegins = [0, 24, 56, 72, 96, 100, 100];
        Assert.That(file.Tensors.Values.Select(t => t.DataBegin), Is.EqualTo(expectedBegins));
        Assert.That(bytes.LongLength, Is.EqualTo(8 + headerLength + 100));
    }

    [Test]
    public void Float64ReadsAsFloat32RoundedToNearest()
    {
        using var directory = new TempDirectory();
        var path = directory.File("x.safetensors");
        SafeTensorsWriter.Write(path, [new TensorToWrite("doubles", [4], Doubles)]);
        using var file = SafeTensorsFile.Open(path);
        // (float)d rounds to nearest: 1e-300 and double.Epsilon underflow to -inf/0, as a cast does.
        Assert.That(file.ReadFloat32("doubles"), Is.EqualTo(new[] { 0.1f, 1f / 3, float.NegativeInfinity, 0f }));
    }

    [Test]
    public void HalfAndBFloat16WidenExactly()
    {
        using var directory = new TempDirectory();
        var path = directory.File("half.safetensors");
        // F16: 1.0, the smallest subnormal 2^-24, the largest finite 65504, -2.
        // BF16: 1.0, -3.140625 (0xC049), 2^-133 (the smallest bf16 subnormal, 0x0001), the largest finite 0x7F7F.
        ushort[] half = [0x3C00, 0x0001, 0x7BFF, 0xC000];
        ushort[] bfloat = [0x3F80, 0xC049, 0x0001, 0x7F7F];
        var data = half.Concat(bfloat).SelectMany(BitConverter.GetBytes).ToArray();
        SafeTensorsBytes.Write(path,
            """{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[8,16]}}""", data);

        using var file = SafeTensorsFile.Open(path);
        Assert.That(file.ReadFloat32("h"), Is.EqualTo(new[] { 1f, MathF.Pow(2, -24), 65504f, -2f }));
        Assert.That(file.ReadFloat32("b"), Is.EqualTo(new[] { 1f, -3.140625f, MathF.Pow(2, -133), 3.3895314e38f }));
    }

    [Test]
    public void RefusesAConversionItCannotMake()
    {
        using var directory = new TempDirectory();
        var path = directory.File("x.safetensors");
        SafeTensorsWriter.Write(path, [new TensorToWrite("ids", [2], new[] { 1, 2 }), new TensorToWrite("w", [1], new[] { 1f })]);
        using var file = SafeTensorsFile.Open(path);

        var error = Assert.Throws<BadInputException>(() => file.ReadFloat32("ids"))!;
        Assert.That(error.Message, Is.EqualTo($"{path}: tensor 'ids' has dtype I32, which cannot be read as float32"));
        Assert.That(Assert.Throws<BadInputException>(() => file.ReadInt64("ids"))!.Message, Does.Contain("dtype I32, which cannot be read as int64"));
        Assert.That(Assert.Throws<BadInputException>(() => file.ReadFloat64("w"))!.Message, Does.Contain("dtype F32, which cannot be read as float64"));
        Assert.That(Assert.Throws<BadInputException>(() => file.ReadFloat32("missing"))!.Message, Is.EqualTo($"{path}: no tensor named 'missing'"));
        Assert.Throws<ArgumentException>(() => file.ReadFloat32("w", new float[2]));
    }

    [Test]
    public void WriterRefusesShapesThatDoNotMatchTheData()
    {
        Assert.Throws<ArgumentException>(() => _ = new TensorToWrite("w", [2, 2], new float[3]));
        Assert.Throws<ArgumentException>(() => _ = new TensorToWrite("w", [-1, -3], new float[3]));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write("unused", [new("w", [1], new[] { 1 }), new("w", [1], new[] { 2 })]));
    }
}
