using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="GatedActivation"/> and its ungated case <see cref="Activate"/> (no up factor), vectorised over fixed ranges in
/// parallel: the reference's formulas on <see cref="Vector{T}"/> in float32 (<see cref="ActivationFunctions"/>' vector form,
/// its exponential within 3 ulps), each result rounded once to the storage. One loop serves both: without up, its factor is
/// left out (not multiplied by 1), so the gated results keep SwiGLU's order of operations and bits.
/// </summary>
internal static class FastGatedActivation
{
    /// <summary>output = gate · Gate(gate) · up.</summary>
    public static void Forward<TWord, TFormat>(Memory<TWord> output, ReadOnlyMemory<TWord> gate, ReadOnlyMemory<TWord> up, Activation activation)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        ShapeCheck.Length(gate.Length, output.Length, nameof(gate));
        ShapeCheck.Length(up.Length, output.Length, nameof(up));
        Apply<TWord, TFormat>(output, gate, up, activation);
    }

    /// <summary>output = input · Gate(input).</summary>
    public static void Activate<TWord, TFormat>(Memory<TWord> output, ReadOnlyMemory<TWord> input, Activation activation)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        ShapeCheck.Length(input.Length, output.Length, nameof(input));
        Apply<TWord, TFormat>(output, input, ReadOnlyMemory<TWord>.Empty, activation);
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
        Gradients<TWord, TFormat>(gateGrad, upGrad, outputGrad, gate, up, activation);
    }

    /// <summary>inputGrad += outputGrad · act'(input).</summary>
    public static void ActivateBackward<TWord, TFormat>(Memory<TWord> inputGrad, ReadOnlyMemory<TWord> outputGrad, ReadOnlyMemory<TWord> input,
        Activation activation)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        ShapeCheck.Length(inputGrad.Length, outputGrad.Length, nameof(inputGrad));
        ShapeCheck.Length(input.Length, outputGrad.Length, nameof(input));
        Gradients<TWord, TFormat>(inputGrad, Memory<TWord>.Empty, outputGrad, input, ReadOnlyMemory<TWord>.Empty, activation);
    }

    /// <summary>output = x · Gate(x), times up where there is one.</summary>
    private static void Apply<TWord, TFormat>(Memory<TWord> output, ReadOnlyMemory<TWord> x, ReadOnlyMemory<TWord> up, Activation activation)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var gated = !up.IsEmpty;
        Partitions.For(output.Length, Partitions.Elements, part =>
        {
            var y = part.Of(output);
            var input = part.Of(x);
            var factor = gated ? part.Of(up) : default;
            for (var i = 0; i < y.Length; i += Vectors.Width)
            {
                var value = TFormat.Load(input, i);
                var activated = value * ActivationFunctions.Gate(activation, value);
                TFormat.Store(gated ? activated * TFormat.Load(factor, i) : activated, y, i);
            }
        });
    }

    /// <summary>xGrad += outputGrad · (up) · act'(x); where there is an up, upGrad += outputGrad · x · Gate(x).</summary>
    private static void Gradients<TWord, TFormat>(Memory<TWord> xGrad, Memory<TWord> upGrad, ReadOnlyMemory<TWord> outputGrad, ReadOnlyMemory<TWord> x,
        ReadOnlyMemory<TWord> up, Activation activation)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        var gated = !up.IsEmpty;
        Partitions.For(outputGrad.Length, Partitions.Elements, part =>
        {
            var dx = part.Of(xGrad);
            var dy = part.Of(outputGrad);
            var input = part.Of(x);
            var du = gated ? part.Of(upGrad) : default;
            var factor = gated ? part.Of(up) : default;
            for (var i = 0; i < dy.Length; i += Vectors.Width)
            {
                var (value, gradient) = (TFormat.Load(input, i), TFormat.Load(dy, i));
                var gate = ActivationFunctions.Gate(activation, value);
                var upstream = gated ? gradient * TFormat.Load(factor, i) : gradient;
                TFormat.Store(TFormat.Load(dx, i) + ActivationFunctions.Backward(activation, value, gate, upstream), dx, i);
                if (gated) TFormat.Store(TFormat.Load(du, i) + gradient * value * gate, du, i);
            }
        });
    }
}
