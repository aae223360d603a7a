using System.Numerics;
using System.Numerics.Tensors;
using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

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

    /// <summary>The device kernel: one thread per element.</summary>
    public static class Ilgpu
    {
        public sealed class Launcher(Accelerator accelerator)
        {
            private readonly Action<Index1D, Floats, float> _apply = accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, float>(ApplyKernel);

            public void Apply(Floats x, float factor) => _apply((int)x.Length, x, factor);
        }

        private static void ApplyKernel(Index1D i, Floats x, float factor) => x[i] *= factor;
    }
}
