using System.Numerics;
using System.Numerics.Tensors;

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
}
