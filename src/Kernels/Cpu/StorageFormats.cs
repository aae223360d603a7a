using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// How the fast kernels read and write a bulk tensor stored as <typeparamref name="TWord"/>s: every value is widened to
/// float32 on load and rounded (to nearest even) on store, so the arithmetic between is float32 whatever the storage.
/// The kernels are generic over a struct implementing this; the JIT compiles each instantiation on its own, so the
/// float32 one is the plain float32 code (its loads and stores the identity) and the bfloat16 one carries the conversions
/// inline. Vector loads and stores follow <see cref="Vectors"/>: whole at element i, or partial at a span's end.
/// </summary>
internal interface IStorageFormat<TWord> where TWord : unmanaged
{
    static abstract Storage Storage { get; }

    static abstract float Widen(TWord word);

    static abstract TWord Round(float value);

    static abstract void Widen(ReadOnlySpan<TWord> source, Span<float> destination);

    static abstract void Round(ReadOnlySpan<float> source, Span<TWord> destination);

    /// <summary>Elements [i, i + <see cref="Vectors.Width"/>) widened; lanes past the span's end read as <paramref name="padding"/>.</summary>
    static abstract Vector<float> Load(ReadOnlySpan<TWord> x, int i, float padding = 0);

    /// <summary>The lanes rounded into elements [i, i + <see cref="Vectors.Width"/>), those past the span's end dropped.</summary>
    static abstract void Store(Vector<float> value, Span<TWord> x, int i);

    /// <summary>The largest value (NaN if any is NaN; −∞ for an empty span).</summary>
    static abstract float Max(ReadOnlySpan<TWord> x);
}

/// <summary>float32 storage: loads and stores move the values as they are.</summary>
internal readonly struct Float32Format : IStorageFormat<float>
{
    public static Storage Storage => Storage.Native;

    public static float Widen(float word) => word;

    public static float Round(float value) => value;

    public static void Widen(ReadOnlySpan<float> source, Span<float> destination) => source.CopyTo(destination);

    public static void Round(ReadOnlySpan<float> source, Span<float> destination) => source.CopyTo(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Load(ReadOnlySpan<float> x, int i, float padding = 0) =>
        i + Vector<float>.Count <= x.Length
            ? Vector.LoadUnsafe(ref MemoryMarshal.GetReference(x), (nuint)i)
            : Vectors.LoadPartial<float, Float32Format>(x, i, padding);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector<float> value, Span<float> x, int i)
    {
        if (i + Vector<float>.Count <= x.Length) value.StoreUnsafe(ref MemoryMarshal.GetReference(x), (nuint)i);
        else Vectors.StorePartial<float, Float32Format>(value, x, i);
    }

    public static float Max(ReadOnlySpan<float> x) => TensorPrimitives.Max(x);
}

/// <summary>
/// bfloat16 storage (<see cref="HostBFloat16Buffer"/>): a load zero-extends 16-bit words into the upper halves of float32
/// lanes (exact), a store rounds with <see cref="BFloat16.Rounded"/> and narrows. With 256-bit vectors (AVX2, and
/// AVX-512 machines, where <see cref="Vector{T}"/> stays 256 bits wide) that is one 128-bit load or store of eight words;
/// other widths go lane by lane, correct but slower.
/// </summary>
internal readonly struct BFloat16Format : IStorageFormat<ushort>
{
    public static Storage Storage => Storage.BFloat16;

    public static float Widen(ushort word) => BFloat16.ToFloat(word);

    public static ushort Round(float value) => BFloat16.FromFloat(value);

    public static void Widen(ReadOnlySpan<ushort> source, Span<float> destination) => BFloat16.Widen(source, destination);

    public static void Round(ReadOnlySpan<float> source, Span<ushort> destination) => BFloat16.Narrow(source, destination);

    private static bool Vector256Wide => Vector<float>.Count == Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Load(ReadOnlySpan<ushort> x, int i, float padding = 0)
    {
        if (!Vector256Wide || i + Vector<float>.Count > x.Length) return Vectors.LoadPartial<ushort, BFloat16Format>(x, i, padding);
        var words = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(x), (nuint)i);
        return (Vector256.Create(Vector128.WidenLower(words), Vector128.WidenUpper(words)) << 16).AsSingle().AsVector();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector<float> value, Span<ushort> x, int i)
    {
        if (!Vector256Wide || i + Vector<float>.Count > x.Length)
        {
            Vectors.StorePartial<ushort, BFloat16Format>(value, x, i);
            return;
        }
        var rounded = BFloat16.Rounded(value.As<float, uint>()).AsVector256();
        Vector128.Narrow(rounded.GetLower(), rounded.GetUpper()).StoreUnsafe(ref MemoryMarshal.GetReference(x), (nuint)i);
    }

    public static float Max(ReadOnlySpan<ushort> x)
    {
        if (x.IsEmpty) return float.NegativeInfinity;
        var max = new Vector<float>(float.NegativeInfinity);
        var nan = Vector<int>.Zero;
        for (var i = 0; i < x.Length; i += Vectors.Width)
        {
            var value = Load(x, i, float.NegativeInfinity);
            nan |= ~Vector.Equals(value, value);
            max = Vector.Max(max, value);
        }
        if (nan != Vector<int>.Zero) return float.NaN;
        var result = max[0];
        for (var lane = 1; lane < Vector<float>.Count; lane++) result = Math.Max(result, max[lane]);
        return result;
    }
}
