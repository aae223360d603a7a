using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="AdamW"/> in float32, vectorised over fixed ranges in parallel: each element read and written once, with the
/// step's constants narrowed once (<see cref="AdamW.Float32Step"/>), as the device kernel does.
/// </summary>
internal static class FastAdamW
{
    public static void Step(Memory<float> parameters, ReadOnlyMemory<float> gradients, Memory<float> firstMoment, Memory<float> secondMoment, AdamWStep step)
    {
        ShapeCheck.Length(gradients.Length, parameters.Length, nameof(gradients));
        ShapeCheck.Length(firstMoment.Length, parameters.Length, nameof(firstMoment));
        ShapeCheck.Length(secondMoment.Length, parameters.Length, nameof(secondMoment));
        var c = AdamW.Float32Step.From(step);
        Partitions.For(parameters.Length, Partitions.Elements, part =>
        {
            var p = part.Of(parameters);
            var g = part.Of(gradients);
            var m = part.Of(firstMoment);
            var v = part.Of(secondMoment);
            for (var i = 0; i < p.Length; i += Vectors.Width)
            {
                var gradient = Vectors.Load(g, i);
                var first = c.Beta1 * Vectors.Load(m, i) + c.OneMinusBeta1 * gradient;
                var second = c.Beta2 * Vectors.Load(v, i) + c.OneMinusBeta2 * gradient * gradient;
                Vectors.Store(Vectors.Load(p, i) * c.Decay - c.StepSize * first / (Vector.SquareRoot(second) * c.SecondScale + new Vector<float>(c.Epsilon)), p, i);
                Vectors.Store(first, m, i);
                Vectors.Store(second, v, i);
            }
        });
    }
}
