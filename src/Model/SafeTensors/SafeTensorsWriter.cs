using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using SimNpo.Model.IO;

namespace SimNpo.Model.SafeTensors;

/// <summary>
/// Writes a safetensors file: the header padded with spaces to a multiple of 8 bytes (so every tensor of this writer
/// starts 8-byte aligned in a mapping), then the tensors back to back in the given order. The data streams from the
/// callers' buffers to the file through <see cref="AtomicFile"/>; only the header is built in memory.
/// </summary>
public static class SafeTensorsWriter
{
    private const int HeaderAlignment = 8;

    public static void Write(string path, IReadOnlyList<TensorToWrite> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        // Safetensors is little-endian; the tensors' bytes are written as the host holds them.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing needs a little-endian host");
        var names = new HashSet<string>();
        foreach (var tensor in tensors)
        {
            if (tensor.Name.Length == 0 || tensor.Name == SafeTensorsHeader.MetadataKey)
                throw new ArgumentException($"'{tensor.Name}' cannot name a tensor", nameof(tensors));
            if (!names.Add(tensor.Name)) throw new ArgumentException($"tensor '{tensor.Name}' is given twice", nameof(tensors));
        }

        var header = Header(tensors, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[sizeof(ulong)];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var tensor in tensors) tensor.WriteData(stream);
        });
    }

    private static byte[] Header(IReadOnlyList<TensorToWrite> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }

            var offset = 0L;
            foreach (var tensor in tensors)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", tensor.DType.HeaderName());
                json.WriteStartArray("shape");
                foreach (var dim in tensor.Shape) json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += tensor.ByteLength;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        // The 8-byte length prefix is itself aligned, so padding the header aligns the data buffer.
        var padded = new byte[(buffer.WrittenCount + HeaderAlignment - 1) / HeaderAlignment * HeaderAlignment];
        buffer.WrittenSpan.CopyTo(padded);
        padded.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return padded;
    }
}
