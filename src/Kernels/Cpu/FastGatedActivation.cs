using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="GatedActivation"/> vectorised over fixed ranges in parallel: the reference's formulas on <see cref="Vector{T}"/>
/// in float32 (<see cref="ActivationFunctions"/>' vector form, its exponential within 3 ulps), each result rounded once to the storage.
/// </summary>
internal static class FastGatedActivation
{
    /// <summary>output = gate · Gate(gate) · up.</summary>
    public static void Forward<TWord, TFormat>(Memory<TWord> output, ReadOnlyMemory<TWord> gate, ReadOnlyMemory<TWord> up, Activation activation)
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
                TFormat.Store(x * ActivationFunctions.Gate(activation, x) * TFormat.Load(u, i), y, i);
            }
        });
    }

    /// <summary>gateGrad += outputGrad · up · act'(g); upGrad += outputGrad · g · Gate(g).</summary>
    public static void Backward<TWord, TFormat>(Memory<TWord> gateGrad, Memory<TWord> upGrad, ReadOnlyMemory<TWord> outputGrad, ReadOnlyMemory<TWord> gate,
        ReadOnlyMemory<TWord> up, Activation activation)
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
                var factor = ActivationFunctions.Gate(activation, x);
                TFormat.Store(TFormat.Load(dg, i) + ActivationFunctions.Backward(activation, x, factor, gradient * TFormat.Load(u, i)), dg, i);
                TFormat.Store(TFormat.Load(du, i) + gradient * x * factor, du, i);
            }
        });
    }
}
