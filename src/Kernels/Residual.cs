using System.Numerics;
using System.Numerics.Tensors;
using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.ArrayView<float>;

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

    /// <summary>The device kernel: one thread per element.</summary>
    public static class Ilgpu
    {
        public sealed class Launcher(Accelerator accelerator)
        {
            private readonly Action<Index1D, Floats, Floats, Floats> _forward =
                accelerator.LoadAutoGroupedStreamKernel<Index1D, Floats, Floats, Floats>(ForwardKernel);

            public void Forward(Floats output, Floats a, Floats b)
            {
                ShapeCheck.Length((int)a.Length, (int)output.Length, nameof(a));
                ShapeCheck.Length((int)b.Length, (int)output.Length, nameof(b));
                _forward((int)output.Length, output, a, b);
            }
        }

        private static void ForwardKernel(Index1D i, Floats output, Floats a, Floats b) => output[i] = a[i] + b[i];
    }
}
