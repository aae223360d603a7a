using System.Runtime.CompilerServices;
using ILGPU;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// How a kernel reads and writes one float of a bulk tensor stored as <typeparamref name="TWord"/>s: widened to float32 on
/// load, rounded on store. Kernels are written once, generic over &lt;TWord, TStored&gt;, and call the methods on
/// <c>default(TStored)</c> (the pattern of ILGPU.Algorithms' reduction operations; ILGPU 1.5.3 compiles neither static
/// abstract members nor classes), so each storage gets its own compiled instantiation with the conversion inlined.
/// </summary>
public interface IStoredFloats<TWord> where TWord : unmanaged
{
    float Load(ArrayView<TWord> words, long index);

    void Store(ArrayView<TWord> words, long index, float value);
}

/// <summary>Float32 stored as itself: the loads and stores of the float32 kernels, unchanged.</summary>
public readonly struct Float32Words : IStoredFloats<float>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Load(ArrayView<float> words, long index) => words[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ArrayView<float> words, long index, float value) => words[index] = value;
}

/// <summary>bfloat16 stored as the upper 16 bits of a float32: exact widening, round to nearest even (<see cref="BFloat16"/>).</summary>
public readonly struct BFloat16Words : IStoredFloats<ushort>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Load(ArrayView<ushort> words, long index) => BFloat16.ToFloat(words[index]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ArrayView<ushort> words, long index, float value) => words[index] = BFloat16.FromFloat(value);
}
