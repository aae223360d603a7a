using System.Numerics;
using System.Runtime.CompilerServices;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// Loads and stores of <see cref="Vector{T}"/> at element i of a span, whole or, at a span's end, partial (the missing
/// lanes read as <c>padding</c>, only the existing ones written): a loop steps i by <see cref="Width"/> to the end and
/// applies one vector formula everywhere, with no scalar copy of it for the tail. The float32 spans' forms here; a kernel
/// generic over its storage calls its <see cref="IStorageFormat{TWord}"/>'s, which share the partial ones.
/// </summary>
internal static class Vectors
{
    public static int Width => Vector<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Load(ReadOnlySpan<float> x, int i, float padding = 0) => Float32Format.Load(x, i, padding);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector<float> value, Span<float> x, int i) => Float32Format.Store(value, x, i);

    public static Vector<float> LoadPartial<TWord, TFormat>(ReadOnlySpan<TWord> x, int i, float padding)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        Span<float> lanes = stackalloc float[Vector<float>.Count];
        lanes.Fill(padding);
        var count = Math.Min(Vector<float>.Count, x.Length - i);
        TFormat.Widen(x.Slice(i, count), lanes[..count]);
        return new Vector<float>(lanes);
    }

    public static void StorePartial<TWord, TFormat>(Vector<float> value, Span<TWord> x, int i)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        Span<float> lanes = stackalloc float[Vector<float>.Count];
        value.CopyTo(lanes);
        var count = Math.Min(Vector<float>.Count, x.Length - i);
        TFormat.Round(lanes[..count], x.Slice(i, count));
    }

    /// <summary>
    /// Σ x·y, or with <paramref name="weight"/> Σ (x·(o + w))·y with o the <paramref name="weightOffset"/>, x·(o + w) rounded
    /// to float32: each product with y exact in float64 lanes, the lanes summed in a fixed order.
    /// </summary>
    public static double Dot<TWord, TFormat>(ReadOnlySpan<TWord> x, ReadOnlySpan<TWord> y, ReadOnlySpan<TWord> weight = default, float weightOffset = 0)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        Vector<double> low = default, high = default;
        var offset = new Vector<float>(weightOffset);
        for (var i = 0; i < x.Length; i += Width)
        {
            var xi = weight.IsEmpty ? TFormat.Load(x, i) : TFormat.Load(x, i) * (offset + TFormat.Load(weight, i));
            Vector.Widen(xi, out var x0, out var x1);
            Vector.Widen(TFormat.Load(y, i), out var y0, out var y1);
            low += x0 * y0;
            high += x1 * y1;
        }
        return Vector.Sum(low + high);
    }

    /// <summary>y = a + b, each element rounded once to the storage; y may be a or b.</summary>
    public static void Add<TWord, TFormat>(Span<TWord> y, ReadOnlySpan<TWord> a, ReadOnlySpan<TWord> b)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        for (var i = 0; i < y.Length; i += Width) TFormat.Store(TFormat.Load(a, i) + TFormat.Load(b, i), y, i);
    }

    /// <summary>total[j] = total[j] + sum[j], one rounding to the storage: a float32 sum added to a stored tensor once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddInto<TWord, TFormat>(Span<TWord> total, ReadOnlySpan<float> sum)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        for (var i = 0; i < total.Length; i += Width) TFormat.Store(TFormat.Load(total, i) + Load(sum, i), total, i);
    }
}
