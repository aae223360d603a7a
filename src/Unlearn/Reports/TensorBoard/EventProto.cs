using System.Buffers.Binary;
using System.Text;

namespace SimNpo.Unlearn.Reports.TensorBoard;

/// <summary>
/// The few fields of TensorFlow's Event and Summary messages (tensorflow/core/util/event.proto, framework/summary.proto)
/// that scalar logs need, encoded by hand in protobuf's wire format: Event { double wall_time = 1; int64 step = 2;
/// oneof { string file_version = 3; Summary summary = 5; } }, Summary { repeated Value value = 1; },
/// Value { string tag = 1; float simple_value = 2; }.
/// </summary>
public static class EventProto
{
    private const int Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5, Varint = 0;

    /// <summary>The first event of every file: its format version, which TensorBoard checks.</summary>
    public static byte[] FileVersion(double wallTime) => Event(wallTime, 0, field: 3, Encoding.UTF8.GetBytes("brain.Event:2"));

    /// <summary>One event holding scalars (tag, value) at a step.</summary>
    public static byte[] Scalars(double wallTime, long step, IEnumerable<(string Tag, float Value)> scalars)
    {
        var summary = new MemoryStream();
        Span<byte> bits = stackalloc byte[4];
        foreach (var (tag, value) in scalars)
        {
            var entry = new MemoryStream();
            Bytes(entry, 1, Encoding.UTF8.GetBytes(tag));
            Key(entry, 2, Fixed32);
            BinaryPrimitives.WriteSingleLittleEndian(bits, value);
            entry.Write(bits);
            Bytes(summary, 1, entry.ToArray());
        }
        return Event(wallTime, step, field: 5, summary.ToArray());
    }

    private static byte[] Event(double wallTime, long step, int field, byte[] payload)
    {
        var stream = new MemoryStream();
        Key(stream, 1, Fixed64);
        Span<byte> bits = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(bits, wallTime);
        stream.Write(bits);
        if (step != 0)
        {
            Key(stream, 2, Varint);
            VarInt(stream, (ulong)step);
        }
        Bytes(stream, field, payload);
        return stream.ToArray();
    }

    private static void Key(Stream stream, int field, int wireType) => VarInt(stream, (ulong)(field << 3 | wireType));

    private static void Bytes(Stream stream, int field, byte[] bytes)
    {
        Key(stream, field, LengthDelimited);
        VarInt(stream, (ulong)bytes.Length);
        stream.Write(bytes);
    }

    private static void VarInt(Stream stream, ulong value)
    {
        for (; value >= 0x80; value >>= 7) stream.WriteByte((byte)(value | 0x80));
        stream.WriteByte((byte)value);
    }
}
