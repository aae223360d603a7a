using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Kernels;

/// <summary>The gated MLP activation of Llama: output = silu(gate) · up, silu(g) = g · σ(g).</summary>
public static class SwiGlu
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        public static void Forward<T>(Span<T> output, ReadOnlySpan<T> gate, ReadOnlySpan<T> up) where T : unmanaged, IFloatingPointIeee754<T>
        {
            ShapeCheck.Length(gate.Length, output.Length, nameof(gate));
            ShapeCheck.Length(up.Length, output.Length, nameof(up));
            for (var i = 0; i < output.Length; i++)
                output[i] = gate[i] * Sigmoid(gate[i]) * up[i];
        }

        /// <summary>gateGrad += outputGrad · up · σ(g)(1 + g(1 − σ(g))); upGrad += outputGrad · silu(g).</summary>
        public static void Backward<T>(Span<T> gateGrad, Span<T> upGrad, ReadOnlySpan<T> outputGrad, ReadOnlySpan<T> gate, ReadOnlySpan<T> up)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            ShapeCheck.Length(gateGrad.Length, outputGrad.Length, nameof(gateGrad));
            ShapeCheck.Length(upGrad.Length, outputGrad.Length, nameof(upGrad));
            ShapeCheck.Length(gate.Length, outputGrad.Length, nameof(gate));
            ShapeCheck.Length(up.Length, outputGrad.Length, nameof(up));
            for (var i = 0; i < outputGrad.Length; i++)
            {
                var g = gate[i];
                var sigmoid = Sigmoid(g);
                gateGrad[i] += outputGrad[i] * up[i] * sigmoid * (T.One + g * (T.One - sigmoid));
                upGrad[i] += outputGrad[i] * g * sigmoid;
            }
        }

        /// <summary>1 / (1 + e^−x): for very negative x the exponential overflows to ∞ and σ correctly becomes 0.</summary>
        private static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));
    }

    /// <summary>The device kernels: one thread per element, loads widened to float32, each result stored once.</summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>> _forward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>>(ForwardKernel<TWord, TStored>);

            private readonly Action<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>> _backward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>>(
                    BackwardKernel<TWord, TStored>);

            public void Forward(ArrayView<TWord> output, ArrayView<TWord> gate, ArrayView<TWord> up)
            {
                ShapeCheck.Length((int)gate.Length, (int)output.Length, nameof(gate));
                ShapeCheck.Length((int)up.Length, (int)output.Length, nameof(up));
                _forward((int)output.Length, output, gate, up);
            }

            public void Backward(ArrayView<TWord> gateGrad, ArrayView<TWord> upGrad, ArrayView<TWord> outputGrad, ArrayView<TWord> gate, ArrayView<TWord> up)
            {
                ShapeCheck.Length((int)gateGrad.Length, (int)outputGrad.Length, nameof(gateGrad));
                ShapeCheck.Length((int)upGrad.Length, (int)outputGrad.Length, nameof(upGrad));
                ShapeCheck.Length((int)gate.Length, (int)outputGrad.Length, nameof(gate));
                ShapeCheck.Length((int)up.Length, (int)outputGrad.Length, nameof(up));
                _backward((int)outputGrad.Length, gateGrad, upGrad, outputGrad, gate, up);
            }
        }

        private static void ForwardKernel<TWord, TStored>(Index1D i, ArrayView<TWord> output, ArrayView<TWord> gate, ArrayView<TWord> up)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var g = stored.Load(gate, i.X);
            stored.Store(output, i.X, g * Sigmoid(g) * stored.Load(up, i.X));
        }

        private static void BackwardKernel<TWord, TStored>(Index1D i, ArrayView<TWord> gateGrad, ArrayView<TWord> upGrad, ArrayView<TWord> outputGrad,
            ArrayView<TWord> gate, ArrayView<TWord> up)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            var (g, dy) = (stored.Load(gate, i.X), stored.Load(outputGrad, i.X));
            var sigmoid = Sigmoid(g);
            stored.Store(gateGrad, i.X, stored.Load(gateGrad, i.X) + dy * stored.Load(up, i.X) * sigmoid * (1 + g * (1 - sigmoid)));
            stored.Store(upGrad, i.X, stored.Load(upGrad, i.X) + dy * g * sigmoid);
        }

        /// <summary>As the reference's: for very negative x the exponential overflows to ∞ and σ becomes 0.</summary>
        private static float Sigmoid(float x) => 1 / (1 + XMath.Exp(-x));
    }
}
