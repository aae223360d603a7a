using System.Buffers.Binary;
using System.Text;

namespace SimNpo.Tests.SafeTensors;

/// <summary>Assembles safetensors files byte by byte, so tests can write exactly the malformed file they mean.</summary>
public static class SafeTensorsBytes
{
    /// <summary>The 8-byte length of the UTF-8 header, the header, then the data.</summary>
    public static void Write(string path, string headerJson, byte[] data) => Write(path, Encoding.UTF8.GetBytes(headerJson), data);

    public static void Write(string path, byte[] header, byte[] data) =>
        WriteRaw(path, (ulong)header.Length, [.. header, .. data]);

    /// <summary>Any header length, followed by whatever bytes: for files whose length field lies.</summary>
    public static void WriteRaw(string path, ulong headerLength, byte[] rest)
    {
        var bytes = new byte[8 + rest.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength);
        rest.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }
}
