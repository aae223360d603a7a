using System.Numerics;
using System.Numerics.Tensors;

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
}
