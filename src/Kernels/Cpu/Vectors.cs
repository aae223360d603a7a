using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// Loads and stores of <see cref="Vector{T}"/> at element i of a span, whole or, at a span's end, partial (the missing
/// lanes read as <c>padding</c>, only the existing ones written): a loop steps i by <see cref="Width"/> to the end and
/// applies one vector formula everywhere, with no scalar copy of it for the tail.
/// </summary>
internal static class Vectors
{
    public static int Width => Vector<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Load(ReadOnlySpan<float> x, int i, float padding = 0) =>
        i + Vector<float>.Count <= x.Length ? Vector.LoadUnsafe(ref MemoryMarshal.GetReference(x), (nuint)i) : LoadPartial(x, i, padding);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector<float> value, Span<float> x, int i)
    {
        if (i + Vector<float>.Count <= x.Length) value.StoreUnsafe(ref MemoryMarshal.GetReference(x), (nuint)i);
        else StorePartial(value, x, i);
    }

    private static Vector<float> LoadPartial(ReadOnlySpan<float> x, int i, float padding)
    {
        Span<float> lanes = stackalloc float[Vector<float>.Count];
        lanes.Fill(padding);
        x[i..].CopyTo(lanes);
        return new Vector<float>(lanes);
    }

    private static void StorePartial(Vector<float> value, Span<float> x, int i)
    {
        Span<float> lanes = stackalloc float[Vector<float>.Count];
        value.CopyTo(lanes);
        lanes[..(x.Length - i)].CopyTo(x[i..]);
    }

    /// <summary>
    /// Σ x·y, or with <paramref name="weight"/> Σ (x·w)·y, x·w rounded to float32: each product with y exact in float64
    /// lanes, the lanes summed in a fixed order.
    /// </summary>
    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> weight = default)
    {
        Vector<double> low = default, high = default;
        for (var i = 0; i < x.Length; i += Width)
        {
            var xi = weight.IsEmpty ? Load(x, i) : Load(x, i) * Load(weight, i);
            Vector.Widen(xi, out var x0, out var x1);
            Vector.Widen(Load(y, i), out var y0, out var y1);
            low += x0 * y0;
            high += x1 * y1;
        }
        return Vector.Sum(low + high);
    }
}
