using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Kernels;

/// <summary>
/// The gated MLP activation output = act(gate) · up: SwiGLU with <see cref="Activation.Silu"/> (Llama), GeGLU with
/// <see cref="Activation.GeluTanh"/> (Gemma). The activation's value and slope come from <see cref="ActivationFunctions"/>.
/// </summary>
public static class GatedActivation
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        public static void Forward<T>(Span<T> output, ReadOnlySpan<T> gate, ReadOnlySpan<T> up, Activation activation)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            ShapeCheck.Length(gate.Length, output.Length, nameof(gate));
            ShapeCheck.Length(up.Length, output.Length, nameof(up));
            for (var i = 0; i < output.Length; i++)
                output[i] = gate[i] * ActivationFunctions.Gate(activation, gate[i]) * up[i];
        }

        /// <summary>gateGrad += outputGrad · up · act'(gate); upGrad += outputGrad · act(gate).</summary>
        public static void Backward<T>(Span<T> gateGrad, Span<T> upGrad, ReadOnlySpan<T> outputGrad, ReadOnlySpan<T> gate, ReadOnlySpan<T> up,
            Activation activation)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            ShapeCheck.Length(gateGrad.Length, outputGrad.Length, nameof(gateGrad));
            ShapeCheck.Length(upGrad.Length, outputGrad.Length, nameof(upGrad));
            ShapeCheck.Length(gate.Length, outputGrad.Length, nameof(gate));
            ShapeCheck.Length(up.Length, outputGrad.Length, nameof(up));
            for (var i = 0; i < outputGrad.Length; i++)
            {
                var g = gate[i];
                var factor = ActivationFunctions.Gate(activation, g);
                gateGrad[i] += ActivationFunctions.Backward(activation, g, factor, outputGrad[i] * up[i]);
                upGrad[i] += outputGrad[i] * g * factor;
            }
        }
    }

    /// <summary>The device kernels: one thread per element, loads widened to float32, each result stored once.</summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, Activation> _forward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, Activation>(
                    ForwardKernel<TWord, TStored>);

            private readonly Action<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, Activation> _backward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>,
                    Activation>(BackwardKernel<TWord, TStored>);

            public void Forward(ArrayView<TWord> output, ArrayView<TWord> gate, ArrayView<TWord> up, Activation activation)
            {
                ShapeCheck.Length((int)gate.Length, (int)output.Length, nameof(gate));
                ShapeCheck.Length((int)up.Length, (int)output.Length, nameof(up));
                _forward((int)output.Length, output, gate, up, activation);
            }

            public void Backward(ArrayView<TWord> gateGrad, ArrayView<TWord> upGrad, ArrayView<TWord> outputGrad, ArrayView<TWord> gate, ArrayView<TWord> up,
                Activation activation)
            {
                ShapeCheck.Length((int)gateGrad.Length, (int)outputGrad.Length, nameof(gateGrad));
                ShapeCheck.Length((int)upGrad.Length, (int)outputGrad.Length, nameof(upGrad));
                ShapeCheck.Length((int)gate.Length, (int)outputGrad.Length, nameof(gate));
                ShapeCheck.Length((int)up.Length, (int)outputGrad.Length, nameof(up));
                _backward((int)outputGrad.Length, gateGrad, upGrad, outputGrad, gate, up, activation);
            }
        }

        private static void ForwardKernel<TWord, TStored>(Index1D i, ArrayView<TWord> output, ArrayView<TWord> gate, ArrayView<TWord> up, Activation activation)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var g = stored.Load(gate, i.X);
            stored.Store(output, i.X, g * ActivationFunctions.Gate(activation, g) * stored.Load(up, i.X));
        }

        private static void BackwardKernel<TWord, TStored>(Index1D i, ArrayView<TWord> gateGrad, ArrayView<TWord> upGrad, ArrayView<TWord> outputGrad,
            ArrayView<TWord> gate, ArrayView<TWord> up, Activation activation)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var (g, dy) = (stored.Load(gate, i.X), stored.Load(outputGrad, i.X));
            var factor = ActivationFunctions.Gate(activation, g);
            stored.Store(gateGrad, i.X, stored.Load(gateGrad, i.X) + ActivationFunctions.Backward(activation, g, factor, dy * stored.Load(up, i.X)));
            stored.Store(upGrad, i.X, stored.Load(upGrad, i.X) + dy * g * factor);
        }
    }
}
