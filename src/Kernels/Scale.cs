using System.Numerics;
using System.Numerics.Tensors;
using ILGPU;
using ILGPU.Runtime;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Kernels;

/// <summary>x *= factor in place (gradient clipping, loss scaling).</summary>
public static class Scale
{
    /// <summary>The CPU reference: the specification every device kernel of this op is held to.</summary>
    public static class Reference
    {
        public static void Apply<T>(Span<T> x, double factor) where T : unmanaged, IFloatingPointIeee754<T> =>
            TensorPrimitives.Multiply(x, T.CreateTruncating(factor), x);
    }

    /// <summary>The device kernel: one thread per element, in either storage (any view may be scaled).</summary>
    public static class Ilgpu
    {
        public sealed class Launcher<TWord, TStored>(Accelerator accelerator)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            private readonly Action<Index1D, ArrayView<TWord>, float> _apply =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TWord>, float>(ApplyKernel<TWord, TStored>);

            public void Apply(ArrayView<TWord> x, float factor) => _apply((int)x.Length, x, factor);
        }

        private static void ApplyKernel<TWord, TStored>(Index1D i, ArrayView<TWord> x, float factor)
            where TWord : unmanaged
            where TStored : struct, IStoredFloats<TWord>
        {
            var stored = default(TStored);
            stored.Store(x, i.X, stored.Load(x, i.X) * factor);
        }
    }
}
