using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="Activate"/> vectorised over fixed ranges in parallel: <see cref="ActivationFunctions"/>' vector form in float32
/// (its exponential within 3 ulps), each result rounded once to the storage.
/// </summary>
internal static class FastActivate
{
    /// <summary>output = input · Gate(input).</summary>
    public static void Forward<TWord, TFormat>(Memory<TWord> output, ReadOnlyMemory<TWord> input, Activation activation)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        ShapeCheck.Length(input.Length, output.Length, nameof(input));
        Partitions.For(output.Length, Partitions.Elements, part =>
        {
            var y = part.Of(output);
            var x = part.Of(input);
            for (var i = 0; i < y.Length; i += Vectors.Width)
            {
                var value = TFormat.Load(x, i);
                TFormat.Store(value * ActivationFunctions.Gate(activation, value), y, i);
            }
        });
    }

    /// <summary>inputGrad += outputGrad · act'(input).</summary>
    public static void Backward<TWord, TFormat>(Memory<TWord> inputGrad, ReadOnlyMemory<TWord> outputGrad, ReadOnlyMemory<TWord> input, Activation activation)
        where TWord : unmanaged where TFormat : struct, IStorageFormat<TWord>
    {
        ShapeCheck.Length(inputGrad.Length, outputGrad.Length, nameof(inputGrad));
        ShapeCheck.Length(input.Length, outputGrad.Length, nameof(input));
        Partitions.For(outputGrad.Length, Partitions.Elements, part =>
        {
            var dx = part.Of(inputGrad);
            var dy = part.Of(outputGrad);
            var x = part.Of(input);
            for (var i = 0; i < dy.Length; i += Vectors.Width)
            {
                var value = TFormat.Load(x, i);
                var gradient = ActivationFunctions.Backward(activation, value, ActivationFunctions.Gate(activation, value), TFormat.Load(dy, i));
                TFormat.Store(TFormat.Load(dx, i) + gradient, dx, i);
            }
        });
    }
}
