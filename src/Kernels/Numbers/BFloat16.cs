using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SimNpo.Kernels;

/// <summary>
/// bfloat16 as the upper 16 bits of a float32. Widening is exact (a shift); narrowing rounds to nearest, ties to even,
/// as PyTorch's <c>tensor.to(torch.bfloat16)</c> does, and keeps NaN a (quiet) NaN. Written with plain integer
/// arithmetic and ILGPU's <see cref="ILGPU.Interop"/> bit casts, so the same two functions run on the host and inside
/// kernels.
/// </summary>
public static class BFloat16
{
    /// <summary>
    /// bfloat16 carries 8 significant bits, so neighbours in [2^e, 2^(e+1)) are 2^(e-7) apart and rounding to the nearest
    /// moves a value by at most 2^(e-8): 2^-8 relatively (float32's is 2^-24).
    /// </summary>
    public const double UnitRoundoff = 1.0 / 256;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort bits) => ILGPU.Interop.IntAsFloat((uint)bits << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float value)
    {
        var bits = ILGPU.Interop.FloatAsInt(value);
        // NaN: keep the sign and force a quiet-NaN mantissa bit so rounding cannot carry it into infinity.
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((bits >> 16) | 0x0040u);
        var roundingBias = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>A value rounded to bfloat16 and back, in float32: what storing it costs.</summary>
    public static float Round(float value) => ToFloat(FromFloat(value));

    public static void Narrow(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length != source.Length) throw new ArgumentException($"expected {source.Length} elements, got {destination.Length}");
        var i = 0;
        if (Vector.IsHardwareAccelerated && source.Length >= Vector<uint>.Count * 2)
        {
            var words = MemoryMarshal.Cast<float, uint>(source);
            for (; i + 2 * Vector<uint>.Count <= source.Length; i += 2 * Vector<uint>.Count)
            {
                var lo = Rounded(new Vector<uint>(words[i..]));
                var hi = Rounded(new Vector<uint>(words[(i + Vector<uint>.Count)..]));
                Vector.Narrow(lo, hi).CopyTo(destination[i..]);
            }
        }
        for (; i < source.Length; i++) destination[i] = FromFloat(source[i]);
    }

    public static void Widen(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length != source.Length) throw new ArgumentException($"expected {source.Length} elements, got {destination.Length}");
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var words = MemoryMarshal.Cast<float, uint>(destination);
            for (; i + Vector<ushort>.Count <= source.Length; i += Vector<ushort>.Count)
            {
                Vector.Widen(new Vector<ushort>(source[i..]), out var lo, out var hi);
                (lo << 16).CopyTo(words[i..]);
                (hi << 16).CopyTo(words[(i + Vector<uint>.Count)..]);
            }
        }
        for (; i < source.Length; i++) destination[i] = ToFloat(source[i]);
    }

    /// <summary>
    /// The upper halves of rounded words (still 32-bit lanes), NaNs quieted as <see cref="FromFloat"/> does; the fast CPU
    /// kernels narrow them when they store a vector of results.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<uint> Rounded(Vector<uint> bits)
    {
        var rounded = (bits + new Vector<uint>(0x7FFFu) + ((bits >> 16) & Vector<uint>.One)) >> 16;
        var nan = Vector.GreaterThan(bits & new Vector<uint>(0x7FFF_FFFFu), new Vector<uint>(0x7F80_0000u));
        return Vector.ConditionalSelect(nan, (bits | new Vector<uint>(0x0040_0000u)) >> 16, rounded);
    }
}
