using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Numerics.Tensors;
using SimNpo.Model.IO;

namespace SimNpo.Model.SafeTensors;

/// <summary>
/// A safetensors file, memory-mapped: opening it reads and checks only the header; reading a tensor converts straight
/// from the mapping into the caller's span, so a multi-gigabyte model is never copied into managed memory twice.
/// </summary>
public sealed unsafe class SafeTensorsFile : ITensorReader
{
    private readonly MemoryMappedFile mapping;
    private readonly MemoryMappedViewAccessor view;
    private readonly byte* data;
    private bool disposed;

    private SafeTensorsFile(string path, MemoryMappedFile mapping, MemoryMappedViewAccessor view, byte* data, SafeTensorsHeader header)
    {
        Path = path;
        this.mapping = mapping;
        this.view = view;
        this.data = data;
        Tensors = header.Tensors;
        Metadata = header.Metadata;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafeTensorsFile Open(string path)
    {
        // Safetensors is little-endian; the reads below reinterpret mapped bytes as host numbers.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors reading needs a little-endian host");
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        // The length is the opened file's, not FileInfo's: on Unix FileInfo measures a symbolic link itself, and the
        // Hugging Face cache holds every model file as a link to its blob.
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var length = stream.Length;
        if (length < sizeof(ulong))
        {
            stream.Dispose();
            throw new BadInputException(path, length == 0 ? "file is empty" : $"file holds {length} bytes, fewer than the 8-byte header length");
        }

        MemoryMappedFile mapping;
        try
        {
            mapping = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        MemoryMappedViewAccessor? view = null;
        var acquired = false;
        try
        {
            view = mapping.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            acquired = true;
            start += view.PointerOffset;

            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(start, sizeof(ulong)));
            if (headerLength > SafeTensorsHeader.MaxLength)
                throw new BadInputException(path, $"header length {headerLength} exceeds the format's limit of {SafeTensorsHeader.MaxLength} bytes");
            var headerEnd = sizeof(ulong) + (long)headerLength;
            if (headerEnd > length)
                throw new BadInputException(path, $"header length {headerLength} runs past the end of the file, which holds {length} bytes");

            var json = new ReadOnlySpan<byte>(start + sizeof(ulong), (int)headerLength).ToArray();
            var header = SafeTensorsHeader.Parse(json, length - headerEnd, path);
            return new SafeTensorsFile(path, mapping, view, start + headerEnd, header);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            mapping.Dispose();
            throw;
        }
    }

    public TensorInfo Info(string name) =>
        Tensors.TryGetValue(name, out var tensor) ? tensor : throw new BadInputException(Path, $"no tensor named '{name}'");

    public void ReadFloat32(string name, Span<float> destination)
    {
        var tensor = Checked(name, destination.Length);
        switch (tensor.DType)
        {
            case SafeTensorsDType.F32:
                Source<float>(tensor).CopyTo(destination);
                break;
            case SafeTensorsDType.F16:
                TensorPrimitives.ConvertToSingle(Source<Half>(tensor), destination);
                break;
            case SafeTensorsDType.BF16:
                // A bfloat16 is the upper half of a float32's bits.
                var bits = Source<ushort>(tensor);
                for (var i = 0; i < bits.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(bits[i] << 16);
                break;
            case SafeTensorsDType.F64:
                var doubles = Source<double>(tensor);
                for (var i = 0; i < doubles.Length; i++) destination[i] = (float)doubles[i];
                break;
            default:
                throw Unreadable(tensor, "float32");
        }
    }

    public void ReadFloat64(string name, Span<double> destination) => ReadExact(name, SafeTensorsDType.F64, "float64", destination);

    public void ReadInt32(string name, Span<int> destination) => ReadExact(name, SafeTensorsDType.I32, "int32", destination);

    public void ReadInt64(string name, Span<long> destination) => ReadExact(name, SafeTensorsDType.I64, "int64", destination);

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        mapping.Dispose();
    }

    private void ReadExact<T>(string name, SafeTensorsDType dtype, string typeName, Span<T> destination) where T : unmanaged
    {
        var tensor = Checked(name, destination.Length);
        if (tensor.DType != dtype) throw Unreadable(tensor, typeName);
        Source<T>(tensor).CopyTo(destination);
    }

    private TensorInfo Checked(string name, int destinationLength)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var tensor = Info(name);
        if (tensor.ElementCount != destinationLength)
            throw new ArgumentException($"tensor '{name}' has {tensor.ElementCount} elements but the destination holds {destinationLength}", "destination");
        return tensor;
    }

    /// <summary>
    /// The tensor's bytes in the mapping as elements; the count fits an int because it equals a span's length. A header
    /// of any length leaves data unaligned; x64 and arm64 load unaligned floats at full speed.
    /// </summary>
    private ReadOnlySpan<T> Source<T>(TensorInfo tensor) where T : unmanaged =>
        new(data + tensor.DataBegin, (int)tensor.ElementCount);

    private BadInputException Unreadable(TensorInfo tensor, string typeName) =>
        new(Path, $"tensor '{tensor.Name}' has dtype {tensor.DType.HeaderName()}, which cannot be read as {typeName}");
}
