using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="SwiGlu"/> vectorised over fixed ranges in parallel: the reference's formulas on <see cref="Vector{T}"/>
/// in float32, with a vectorised exponential (within 3 ulps), each result rounded once to the storage.
/// </summary>
internal static class FastSwiGlu
{
    /// <summary>output = gate · σ(gate) · up.</summary>
    public static void Forward<TWord, TFormat>(Memory<TWord> output, ReadOnlyMemory<TWord> gate, ReadOnlyMemory<TWord> up)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        ShapeCheck.Length(gate.Length, output.Length, nameof(gate));
        ShapeCheck.Length(up.Length, output.Length, nameof(up));
        Partitions.For(output.Length, Partitions.Elements, part =>
        {
            var y = part.Of(output);
            var g = part.Of(gate);
            var u = part.Of(up);
            for (var i = 0; i < y.Length; i += Vectors.Width)
            {
                var x = TFormat.Load(g, i);
                TFormat.Store(x * Sigmoid(x) * TFormat.Load(u, i), y, i);
            }
        });
    }

    /// <summary>gateGrad += outputGrad · up · σ(g)(1 + g(1 − σ(g))); upGrad += outputGrad · g · σ(g).</summary>
    public static void Backward<TWord, TFormat>(Memory<TWord> gateGrad, Memory<TWord> upGrad, ReadOnlyMemory<TWord> outputGrad, ReadOnlyMemory<TWord> gate,
        ReadOnlyMemory<TWord> up)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        ShapeCheck.Length(gateGrad.Length, outputGrad.Length, nameof(gateGrad));
        ShapeCheck.Length(upGrad.Length, outputGrad.Length, nameof(upGrad));
        ShapeCheck.Length(gate.Length, outputGrad.Length, nameof(gate));
        ShapeCheck.Length(up.Length, outputGrad.Length, nameof(up));
        Partitions.For(outputGrad.Length, Partitions.Elements, part =>
        {
            var dg = part.Of(gateGrad);
            var du = part.Of(upGrad);
            var dy = part.Of(outputGrad);
            var g = part.Of(gate);
            var u = part.Of(up);
            for (var i = 0; i < dy.Length; i += Vectors.Width)
            {
                var (x, gradient) = (TFormat.Load(g, i), TFormat.Load(dy, i));
                var sigmoid = Sigmoid(x);
                TFormat.Store(TFormat.Load(dg, i) + gradient * TFormat.Load(u, i) * sigmoid * (Vector<float>.One + x * (Vector<float>.One - sigmoid)), dg, i);
                TFormat.Store(TFormat.Load(du, i) + gradient * x * sigmoid, du, i);
            }
        });
    }

    /// <summary>1 / (1 + e^−x): for very negative x the exponential overflows to ∞ and σ correctly becomes 0.</summary>
    private static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Vector.Exp(-x));
}
