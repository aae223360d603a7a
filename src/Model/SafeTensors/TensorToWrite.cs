using System.Runtime.InteropServices;

namespace SimNpo.Model.SafeTensors;

/// <summary>
/// A named tensor for <see cref="SafeTensorsWriter"/>: its shape and the caller's data, which is written from where it
/// lies without a copy. The dtype follows the element type: float F32, double F64, int I32, long I64.
/// </summary>
public sealed class TensorToWrite
{
    private readonly Action<Stream> writeData;

    public TensorToWrite(string name, long[] shape, ReadOnlyMemory<float> data)
        : this(name, shape, SafeTensorsDType.F32, data.Length, stream => stream.Write(MemoryMarshal.AsBytes(data.Span))) { }

    public TensorToWrite(string name, long[] shape, ReadOnlyMemory<double> data)
        : this(name, shape, SafeTensorsDType.F64, data.Length, stream => stream.Write(MemoryMarshal.AsBytes(data.Span))) { }

    public TensorToWrite(string name, long[] shape, ReadOnlyMemory<int> data)
        : this(name, shape, SafeTensorsDType.I32, data.Length, stream => stream.Write(MemoryMarshal.AsBytes(data.Span))) { }

    public TensorToWrite(string name, long[] shape, ReadOnlyMemory<long> data)
        : this(name, shape, SafeTensorsDType.I64, data.Length, stream => stream.Write(MemoryMarshal.AsBytes(data.Span))) { }

    /// <summary>
    /// A tensor whose bytes the caller writes itself when the file is written (exactly the shape's element count in the
    /// dtype, little-endian): a model streams a tensor from its buffers a piece at a time without a whole host copy.
    /// </summary>
    public TensorToWrite(string name, long[] shape, SafeTensorsDType dtype, Action<Stream> writeData)
        : this(name, shape, dtype, null, writeData) { }

    private TensorToWrite(string name, long[] shape, SafeTensorsDType dtype, long? length, Action<Stream> writeData)
    {
        var shapeText = $"[{string.Join(", ", shape)}]";
        if (shape.Any(dim => dim < 0)) throw new ArgumentException($"tensor '{name}': negative dimension in shape {shapeText}", nameof(shape));
        var elements = shape.Aggregate(1L, (product, dim) => checked(product * dim));
        if (length is { } given && elements != given)
            throw new ArgumentException($"tensor '{name}': shape {shapeText} holds {elements} elements but the data has {length}", nameof(shape));
        Name = name;
        Shape = shape;
        DType = dtype;
        ByteLength = elements * dtype.SizeInBytes();
        this.writeData = stream =>
        {
            var before = stream.CanSeek ? stream.Position : -1;
            writeData(stream);
            if (before >= 0 && stream.Position - before != ByteLength)
                throw new InvalidOperationException($"tensor '{name}' wrote {stream.Position - before} bytes, its header promises {ByteLength}");
        };
    }

    public string Name { get; }

    public long[] Shape { get; }

    public SafeTensorsDType DType { get; }

    public long ByteLength { get; }

    internal void WriteData(Stream stream) => writeData(stream);
}
