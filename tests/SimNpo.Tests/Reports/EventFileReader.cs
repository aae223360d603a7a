using System.Buffers.Binary;
using System.Text;

namespace SimNpo.Tests.Reports;

/// <summary>
/// An event file decoded independently of the writer: its own bitwise CRC-32C and the mask as TensorFlow documents it
/// (tensorflow/python/lib/io/python_io.py: masked_crc = ((crc >> 15) | (crc << 17)) + 0xa282ead8), and a generic
/// protobuf field walk; every record's two CRCs are checked.
/// </summary>
public static class EventFileReader
{
    public sealed record Event(double WallTime, long Step, string? FileVersion, IReadOnlyDictionary<string, float> Scalars);

    public static List<Event> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        for (var at = 0; at < bytes.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            Check(bytes.AsSpan(at, 8), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8)), "length");
            var data = bytes.AsSpan(at + 12, length);
            Check(data, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + length)), "data");
            events.Add(Parse(data.ToArray()));
            at += 12 + length + 4;
        }
        return events;
    }

    /// <summary>CRC-32C bit by bit: reflected Castagnoli polynomial 0x82F63B78, initial and final XOR with all ones.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return crc ^ 0xFFFFFFFFu;
    }

    private static void Check(ReadOnlySpan<byte> data, uint stored, string what)
    {
        var crc = Crc32C(data);
        var masked = unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
        if (masked != stored) throw new InvalidDataException($"the {what} CRC does not match");
    }

    private static Event Parse(byte[] data)
    {
        var (wallTime, step, version, scalars) = (0.0, 0L, (string?)null, new Dictionary<string, float>());
        foreach (var (field, value) in Fields(data))
        {
            switch (field)
            {
                case 1: wallTime = BitConverter.Int64BitsToDouble((long)(ulong)value); break;
                case 2: step = (long)(ulong)value; break;
                case 3: version = Encoding.UTF8.GetString((byte[])value); break;
                case 5:
                    foreach (var (_, entry) in Fields((byte[])value))
                    {
                        var parts = Fields((byte[])entry).ToDictionary(f => f.Field, f => f.Value);
                        scalars[Encoding.UTF8.GetString((byte[])parts[1])] = BitConverter.Int32BitsToSingle((int)(uint)parts[2]);
                    }
                    break;
            }
        }
        return new Event(wallTime, step, version, scalars);
    }

    /// <summary>(field number, value): varints and fixed fields as unsigned integers, length-delimited ones as bytes.</summary>
    private static IEnumerable<(int Field, object Value)> Fields(byte[] data)
    {
        var at = 0;
        ulong VarInt()
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data[at++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return value;
            }
        }
        while (at < data.Length)
        {
            var key = VarInt();
            var field = (int)(key >> 3);
            switch (key & 7)
            {
                case 0: yield return (field, VarInt()); break;
                case 1: yield return (field, BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(at))); at += 8; break;
                case 5: yield return (field, BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at))); at += 4; break;
                case 2:
                    var length = (int)VarInt();
                    yield return (field, data[at..(at + length)]);
                    at += length;
                    break;
                default: throw new InvalidDataException($"wire type {key & 7}");
            }
        }
    }
}
