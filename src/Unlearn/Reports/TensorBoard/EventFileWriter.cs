using System.Buffers.Binary;
using System.Net;

namespace SimNpo.Unlearn.Reports.TensorBoard;

/// <summary>
/// A TensorBoard event file, events.out.tfevents.&lt;unix time&gt;.&lt;host&gt; in a log folder: TFRecords (uint64 length,
/// masked CRC-32C of the length, the Event bytes, masked CRC-32C of them; little-endian), the file-version event first.
/// Each event is flushed as written, so TensorBoard shows a run while it trains.
/// </summary>
public sealed class EventFileWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly Func<double> _wallTime;

    public string Path { get; }

    public EventFileWriter(string directory, Func<double>? wallTime = null)
    {
        _wallTime = wallTime ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
        Directory.CreateDirectory(directory);
        var name = $"events.out.tfevents.{(long)_wallTime()}.{Dns.GetHostName()}";
        // Two writers in one second (a resumed run) get files of their own; TensorBoard reads every events file in the folder.
        Path = System.IO.Path.Combine(directory, name);
        for (var n = 1; File.Exists(Path); n++) Path = System.IO.Path.Combine(directory, $"{name}.{n}");
        _stream = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(EventProto.FileVersion(_wallTime()));
    }

    public void Scalars(long step, IEnumerable<(string Tag, float Value)> scalars) => Write(EventProto.Scalars(_wallTime(), step, scalars));

    private void Write(byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc32C.Masked(data));
        _stream.Write(header);
        _stream.Write(data);
        _stream.Write(footer);
        _stream.Flush();
    }

    public void Dispose() => _stream.Dispose();
}
