using System.Buffers;
using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SimNpo.Kernels;
using SimNpo.Model.IO;

namespace SimNpo.Model.SafeTensors;

/// <summary>
/// A safetensors file: opening it reads and checks only the header; reading a tensor (or any range of one) reads its
/// bytes with positioned reads straight into the caller's span, converting through a small scratch when the dtype
/// differs. Nothing is memory-mapped: mapped pages count in the process's resident memory until unmapped, so loading a
/// model through a mapping would hold it twice; read pages stay in the page cache, which the kernel can reclaim.
/// </summary>
public sealed class SafeTensorsFile : ITensorReader
{
    /// <summary>Elements converted at a time through scratch: 1 M (8 MiB at most, for F64).</summary>
    private const int ConversionPiece = 1 << 20;

    /// <summary>The most bytes one read asks for: a span of bytes must stay under 2³¹.</summary>
    private const int ReadPiece = 1 << 30;

    private readonly SafeFileHandle handle;
    private readonly long dataStart;
    private bool disposed;

    private delegate void Widening<TSource>(ReadOnlySpan<TSource> source, Span<float> destination);

    private SafeTensorsFile(string path, SafeFileHandle handle, long dataStart, SafeTensorsHeader header)
    {
        Path = path;
        this.handle = handle;
        this.dataStart = dataStart;
        Tensors = header.Tensors;
        Metadata = header.Metadata;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafeTensorsFile Open(string path)
    {
        // Safetensors is little-endian; the reads below reinterpret the file's bytes as host numbers.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors reading needs a little-endian host");
        if (!File.Exists(path)) throw new BadInputException(path, "file not found");
        // Measured through the opened handle, not FileInfo: on Unix FileInfo measures a symbolic link itself, and the
        // Hugging Face cache holds every model file as a link to its blob.
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.RandomAccess);
        try
        {
            var length = RandomAccess.GetLength(handle);
            if (length == 0) throw new BadInputException(path, "file is empty");
            if (length < sizeof(ulong)) throw new BadInputException(path, $"file holds {length} bytes, fewer than the 8-byte header length");
            Span<byte> prefix = stackalloc byte[sizeof(ulong)];
            ReadExactly(handle, prefix, 0, path);
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > SafeTensorsHeader.MaxLength)
                throw new BadInputException(path, $"header length {headerLength} exceeds the format's limit of {SafeTensorsHeader.MaxLength} bytes");
            var headerEnd = sizeof(ulong) + (long)headerLength;
            if (headerEnd > length)
                throw new BadInputException(path, $"header length {headerLength} runs past the end of the file, which holds {length} bytes");
            var json = new byte[headerLength];
            ReadExactly(handle, json, sizeof(ulong), path);
            var header = SafeTensorsHeader.Parse(json, length - headerEnd, path);
            return new SafeTensorsFile(path, handle, headerEnd, header);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public TensorInfo Info(string name) =>
        Tensors.TryGetValue(name, out var tensor) ? tensor : throw new BadInputException(Path, $"no tensor named '{name}'");

    public void ReadFloat32(string name, Span<float> destination) => ReadFloat32(Whole(name, destination.Length), 0, destination);

    public void ReadFloat32(string name, long firstElement, Span<float> destination)
        => ReadFloat32(InRange(name, firstElement, destination.Length), firstElement, destination);

    public void ReadFloat64(string name, Span<double> destination) => ReadExact(name, SafeTensorsDType.F64, "float64", destination);

    public void ReadFloat64(string name, long firstElement, Span<double> destination)
    {
        var tensor = InRange(name, firstElement, destination.Length);
        if (tensor.DType != SafeTensorsDType.F64) throw Unreadable(tensor, "float64");
        ReadElements(tensor, firstElement, destination);
    }

    public void ReadInt32(string name, Span<int> destination) => ReadExact(name, SafeTensorsDType.I32, "int32", destination);

    public void ReadInt64(string name, Span<long> destination) => ReadExact(name, SafeTensorsDType.I64, "int64", destination);

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        handle.Dispose();
    }

    private void ReadFloat32(TensorInfo tensor, long firstElement, Span<float> destination)
    {
        switch (tensor.DType)
        {
            case SafeTensorsDType.F32:
                ReadElements(tensor, firstElement, destination);
                break;
            case SafeTensorsDType.F16:
                ReadWidened<Half>(tensor, firstElement, destination, TensorPrimitives.ConvertToSingle);
                break;
            case SafeTensorsDType.BF16:
                ReadWidened<ushort>(tensor, firstElement, destination, BFloat16.Widen);
                break;
            case SafeTensorsDType.F64:
                ReadWidened<double>(tensor, firstElement, destination, static (source, target) =>
                {
                    for (var i = 0; i < source.Length; i++) target[i] = (float)source[i];
                });
                break;
            default:
                throw Unreadable(tensor, "float32");
        }
    }

    private void ReadExact<T>(string name, SafeTensorsDType dtype, string typeName, Span<T> destination) where T : unmanaged
    {
        var tensor = Whole(name, destination.Length);
        if (tensor.DType != dtype) throw Unreadable(tensor, typeName);
        ReadElements(tensor, 0, destination);
    }

    /// <summary>Elements [firstElement, firstElement + destination.Length) of a tensor stored as T, straight into the destination.</summary>
    private void ReadElements<T>(TensorInfo tensor, long firstElement, Span<T> destination) where T : unmanaged
    {
        var size = tensor.DType.SizeInBytes();
        var perRead = ReadPiece / size;
        for (var done = 0; done < destination.Length; done += perRead)
        {
            var piece = destination.Slice(done, Math.Min(perRead, destination.Length - done));
            ReadExactly(handle, MemoryMarshal.AsBytes(piece), dataStart + tensor.DataBegin + (firstElement + done) * size, Path);
        }
    }

    /// <summary>Reads a range stored as TSource a piece at a time into pooled scratch and widens each piece into the destination.</summary>
    private void ReadWidened<TSource>(TensorInfo tensor, long firstElement, Span<float> destination, Widening<TSource> widen) where TSource : unmanaged
    {
        var scratch = ArrayPool<TSource>.Shared.Rent(Math.Min(ConversionPiece, Math.Max(1, destination.Length)));
        try
        {
            for (var done = 0; done < destination.Length; done += scratch.Length)
            {
                var count = Math.Min(scratch.Length, destination.Length - done);
                ReadElements(tensor, firstElement + done, scratch.AsSpan(0, count));
                widen(scratch.AsSpan(0, count), destination.Slice(done, count));
            }
        }
        finally
        {
            ArrayPool<TSource>.Shared.Return(scratch);
        }
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset, string path)
    {
        while (destination.Length > 0)
        {
            var read = RandomAccess.Read(handle, destination, offset);
            if (read == 0) throw new BadInputException(path, $"file ends at byte {offset}, before the data its header describes (truncated while open?)");
            destination = destination[read..];
            offset += read;
        }
    }

    private TensorInfo Whole(string name, int destinationLength)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var tensor = Info(name);
        if (tensor.ElementCount != destinationLength)
            throw new ArgumentException($"tensor '{name}' has {tensor.ElementCount} elements but the destination holds {destinationLength}", "destination");
        return tensor;
    }

    private TensorInfo InRange(string name, long firstElement, int count)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var tensor = Info(name);
        if (firstElement < 0 || firstElement + count > tensor.ElementCount)
            throw new ArgumentOutOfRangeException(nameof(firstElement),
                $"elements [{firstElement}, {firstElement + count}) lie outside tensor '{name}' of {tensor.ElementCount}");
        return tensor;
    }

    private BadInputException Unreadable(TensorInfo tensor, string typeName) =>
        new(Path, $"tensor '{tensor.Name}' has dtype {tensor.DType.HeaderName()}, which cannot be read as {typeName}");
}
