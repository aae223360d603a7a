using SimNpo.Model.IO;

namespace SimNpo.Model.SafeTensors;

/// <summary>
/// Named tensors read straight into a caller's span: one safetensors file, or a checkpoint of several shards.
/// Each Read method takes the dtypes it can convert without surprise and refuses the rest by name.
/// </summary>
public interface ITensorReader : IDisposable
{
    IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor of that name, or a <see cref="BadInputException"/> naming the file that lacks it.</summary>
    TensorInfo Info(string name);

    /// <summary>F32 as it is; F16 and BF16 exactly widened; F64 rounded to nearest.</summary>
    void ReadFloat32(string name, Span<float> destination);

    /// <summary>
    /// Elements [firstElement, firstElement + destination.Length) of a tensor in row-major order, converted as
    /// <see cref="ReadFloat32(string, Span{float})"/> does: lets a loader stream a tensor larger than its scratch.
    /// </summary>
    void ReadFloat32(string name, long firstElement, Span<float> destination);

    /// <summary>F64 only.</summary>
    void ReadFloat64(string name, Span<double> destination);

    /// <summary>Elements [firstElement, firstElement + destination.Length) of an F64 tensor.</summary>
    void ReadFloat64(string name, long firstElement, Span<double> destination);

    /// <summary>I32 only.</summary>
    void ReadInt32(string name, Span<int> destination);

    /// <summary>I64 only.</summary>
    void ReadInt64(string name, Span<long> destination);
}

/// <summary>The array-returning reads, written once for every <see cref="ITensorReader"/>.</summary>
public static class TensorReaderArrays
{
    private delegate void ReadInto<T>(string name, Span<T> destination);

    public static float[] ReadFloat32(this ITensorReader reader, string name) => Read<float>(reader, name, reader.ReadFloat32);

    public static double[] ReadFloat64(this ITensorReader reader, string name) => Read<double>(reader, name, reader.ReadFloat64);

    public static int[] ReadInt32(this ITensorReader reader, string name) => Read<int>(reader, name, reader.ReadInt32);

    public static long[] ReadInt64(this ITensorReader reader, string name) => Read<long>(reader, name, reader.ReadInt64);

    private static T[] Read<T>(ITensorReader reader, string name, ReadInto<T> read)
    {
        var count = reader.Info(name).ElementCount;
        if (count > Array.MaxLength) throw new NotSupportedException($"tensor '{name}' has {count} elements, more than one array holds");
        var values = new T[count];
        read(name, values);
        return values;
    }
}
