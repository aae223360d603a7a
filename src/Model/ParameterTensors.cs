using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using SimNpo.Kernels;
using SimNpo.Model.IO;
using SimNpo.Model.SafeTensors;

namespace SimNpo.Model;

/// <summary>
/// One parameter-shaped tensor (a weight, a master weight, a moment) between a model's buffers and a safetensors file,
/// streamed a piece at a time in both directions: a 7B model is never copied whole into host memory to save or load it.
/// </summary>
public static class ParameterTensors
{
    /// <summary>Elements moved at a time: 1 M (8 MiB at most, for float64).</summary>
    private const int Piece = 1 << 20;

    /// <summary>The dtypes a view of T can be written in: F64 from float64 views, F32, BF16 and F16 from any.</summary>
    public static TensorToWrite ToWrite<T>(string name, ParameterEntry entry, View<T> values, SafeTensorsDType dtype)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (dtype is not (SafeTensorsDType.F32 or SafeTensorsDType.BF16 or SafeTensorsDType.F16)
            && !(dtype == SafeTensorsDType.F64 && typeof(T) == typeof(double)))
            throw new ArgumentException($"tensor '{name}' cannot be written from {typeof(T).Name} as {dtype.HeaderName()}", nameof(dtype));
        ShapeOf(entry, values.Length);
        return new TensorToWrite(name, entry.Shape.Select(d => (long)d).ToArray(), dtype, stream => WriteValues(values, dtype, stream));
    }

    /// <summary>
    /// Reads a tensor of the entry's shape into values: into float64 views only from F64 (exactly), into float32 views
    /// from any float dtype (<see cref="ITensorReader.ReadFloat32(string, long, Span{float})"/>). Each piece goes through
    /// check (its values and the index of its first) before it is stored, so a damaged file names the bad value.
    /// </summary>
    /// <param name="firstElement">Where in the tensor values begins: a rank that owns part of it (ZeRO stage 1) reads that part only.</param>
    public static void Read<T>(ITensorReader reader, string source, string name, ParameterEntry entry, View<T> values,
        Action<ReadOnlySpan<T>, long>? check = null, long firstElement = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var info = reader.Info(name);
        if (!info.Shape.SequenceEqual(entry.Shape.Select(d => (long)d)))
            throw new BadInputException(source,
                $"tensor '{name}' has shape [{string.Join(", ", info.Shape)}], the model's '{entry.Name}' is [{string.Join(", ", entry.Shape)}]");
        var piece = new T[Math.Min(Piece, values.Length)];
        for (var start = 0; start < values.Length; start += piece.Length)
        {
            var span = piece.AsSpan(0, Math.Min(piece.Length, values.Length - start));
            if (typeof(T) == typeof(double)) reader.ReadFloat64(name, firstElement + start, MemoryMarshal.Cast<T, double>(span));
            else reader.ReadFloat32(name, firstElement + start, MemoryMarshal.Cast<T, float>(span));
            check?.Invoke(span, firstElement + start);
            values.Buffer.Upload(span, values.Offset + start);
        }
    }

    private static void ShapeOf(ParameterEntry entry, int length)
    {
        if (entry.Length != length) throw new ArgumentException($"a view of {length} elements is not tensor '{entry.Name}' of {entry.Length}");
    }

    /// <summary>
    /// Downloads, narrows to float32 unless the dtype is F64, encodes and writes, a piece at a time: a tensor's bytes as
    /// <see cref="ToWrite"/> writes them, for a writer that gathers the values itself first (a sharded optimizer's state).
    /// </summary>
    public static void WriteValues<T>(View<T> view, SafeTensorsDType dtype, Stream stream) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var length = Math.Min(Piece, view.Length);
        var values = new T[length];
        var floats = values as float[] ?? new float[length];
        var halves = dtype is SafeTensorsDType.BF16 or SafeTensorsDType.F16 ? new ushort[length] : null;
        for (var start = 0; start < view.Length; start += length)
        {
            var count = Math.Min(length, view.Length - start);
            view.Buffer.Download(view.Offset + start, values.AsSpan(0, count));
            if (dtype == SafeTensorsDType.F64)
            {
                stream.Write(MemoryMarshal.AsBytes(values.AsSpan(0, count)));
                continue;
            }
            if (!ReferenceEquals(floats, values))
                for (var i = 0; i < count; i++) floats[i] = float.CreateTruncating(values[i]);
            var source = floats.AsSpan(0, count);
            if (halves is null)
            {
                stream.Write(MemoryMarshal.AsBytes(source));
                continue;
            }
            var words = halves.AsSpan(0, count);
            if (dtype == SafeTensorsDType.BF16) BFloat16.Narrow(source, words);
            else TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<ushort, Half>(words));
            stream.Write(MemoryMarshal.AsBytes(words));
        }
    }
}
