using System.Numerics;
using System.Numerics.Tensors;
using ILGPU;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Kernels;

/// <summary>
/// The residual connection output = a + b. It has no backward op: the gradient of both inputs is the output's gradient,
/// which the graph passes on because every backward op adds into its gradient outputs.
/// </summary>
public static class Residual
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        public static void Forward<T>(Span<T> output, ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
        {
            ShapeCheck.Length(a.Length, output.Length, nameof(a));
            ShapeCheck.Length(b.Length, output.Length, nameof(b));
            TensorPrimitives.Add(a, b, output);
        }
    }

    /// <summary>The device kernel: one thread per element, the sum taken in float32 and stored once.</summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>> _forward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, ArrayView<TWord>, ArrayView<TWord>>(ForwardKernel<TWord, TStored>);

            public void Forward(ArrayView<TWord> output, ArrayView<TWord> a, ArrayView<TWord> b)
            {
                ShapeCheck.Length((int)a.Length, (int)output.Length, nameof(a));
                ShapeCheck.Length((int)b.Length, (int)output.Length, nameof(b));
                _forward((int)output.Length, output, a, b);
            }
        }

        private static void ForwardKernel<TWord, TStored>(Index1D i, ArrayView<TWord> output, ArrayView<TWord> a, ArrayView<TWord> b)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            stored.Store(output, i.X, stored.Load(a, i.X) + stored.Load(b, i.X));
        }
    }
}
