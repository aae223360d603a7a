using System.Numerics.Tensors;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// The elementwise ops (zeroing, copies, the residual add, scaling) over fixed ranges in parallel, each range one
/// vectorised TensorPrimitives call: the same values as <see cref="Residual.Reference"/> and <see cref="Scale.Reference"/>.
/// </summary>
internal static class FastElementwise
{
    public static void Zero(Memory<float> x) =>
        Partitions.For(x.Length, Partitions.Elements, part => part.Of(x).Clear());

    public static void Copy(Memory<float> destination, ReadOnlyMemory<float> source)
    {
        ShapeCheck.Length(source.Length, destination.Length, nameof(source));
        Partitions.For(source.Length, Partitions.Elements, part =>
            part.Of(source).CopyTo(part.Of(destination)));
    }

    /// <summary>output = a + b.</summary>
    public static void Add(Memory<float> output, ReadOnlyMemory<float> a, ReadOnlyMemory<float> b)
    {
        ShapeCheck.Length(a.Length, output.Length, nameof(a));
        ShapeCheck.Length(b.Length, output.Length, nameof(b));
        Partitions.For(output.Length, Partitions.Elements, part =>
            TensorPrimitives.Add(part.Of(a), part.Of(b), part.Of(output)));
    }

    /// <summary>x *= factor.</summary>
    public static void Scale(Memory<float> x, float factor) =>
        Partitions.For(x.Length, Partitions.Elements, part =>
        {
            var range = part.Of(x);
            TensorPrimitives.Multiply(range, factor, range);
        });
}
