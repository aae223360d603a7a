using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Kernels;

/// <summary>output = act(input) elementwise: Phi's MLP, fc2(gelu_new(fc1(h))). The activation comes from <see cref="ActivationFunctions"/>.</summary>
public static class Activate
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        public static void Forward<T>(Span<T> output, ReadOnlySpan<T> input, Activation activation) where T : unmanaged, IFloatingPointIeee754<T>
        {
            ShapeCheck.Length(input.Length, output.Length, nameof(input));
            for (var i = 0; i < output.Length; i++)
                output[i] = input[i] * ActivationFunctions.Gate(activation, input[i]);
        }

        /// <summary>inputGrad += outputGrad · act'(input).</summary>
        public static void Backward<T>(Span<T> inputGrad, ReadOnlySpan<T> outputGrad, ReadOnlySpan<T> input, Activation activation)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            ShapeCheck.Length(inputGrad.Length, outputGrad.Length, nameof(inputGrad));
            ShapeCheck.Length(input.Length, outputGrad.Length, nameof(input));
            for (var i = 0; i < outputGrad.Length; i++)
                inputGrad[i] += ActivationFunctions.Backward(activation, input[i], ActivationFunctions.Gate(activation, input[i]), outputGrad[i]);
        }
    }

    /// <summary>The device kernels: one thread per element, loads widened to float32, each result stored once.</summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<Index1D, ArrayView<TWord>, ArrayView<TWord>, Activation> _forward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, ArrayView<TWord>, Activation>(ForwardKernel<TWord, TStored>);

            private readonly Action<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, Activation> _backward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, Activation>(
                    BackwardKernel<TWord, TStored>);

            public void Forward(ArrayView<TWord> output, ArrayView<TWord> input, Activation activation)
            {
                ShapeCheck.Length((int)input.Length, (int)output.Length, nameof(input));
                _forward((int)output.Length, output, input, activation);
            }

            public void Backward(ArrayView<TWord> inputGrad, ArrayView<TWord> outputGrad, ArrayView<TWord> input, Activation activation)
            {
                ShapeCheck.Length((int)inputGrad.Length, (int)outputGrad.Length, nameof(inputGrad));
                ShapeCheck.Length((int)input.Length, (int)outputGrad.Length, nameof(input));
                _backward((int)outputGrad.Length, inputGrad, outputGrad, input, activation);
            }
        }

        private static void ForwardKernel<TWord, TStored>(Index1D i, ArrayView<TWord> output, ArrayView<TWord> input, Activation activation)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var x = stored.Load(input, i.X);
            stored.Store(output, i.X, x * ActivationFunctions.Gate(activation, x));
        }

        private static void BackwardKernel<TWord, TStored>(Index1D i, ArrayView<TWord> inputGrad, ArrayView<TWord> outputGrad, ArrayView<TWord> input,
            Activation activation)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var x = stored.Load(input, i.X);
            var gradient = ActivationFunctions.Backward(activation, x, ActivationFunctions.Gate(activation, x), stored.Load(outputGrad, i.X));
            stored.Store(inputGrad, i.X, stored.Load(inputGrad, i.X) + gradient);
        }
    }
}
