using System.Numerics;

namespace SimNpo.Model;

/// <summary>Seeded random weights: normal(0, std) for every matrix, 1 + normal(0, normStd) for the RMSNorm weights.</summary>
public static class ModelInitializer
{
    public static void Randomize<T>(LlamaModel<T> model, int seed, double std = 0.02, double normStd = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        var values = new T[model.Layout.TotalLength];
        foreach (var entry in model.Layout.Entries)
        {
            var isNorm = ParameterLayout.IsNormWeight(entry.Name);
            for (var i = entry.Offset; i < entry.Offset + entry.Length; i++)
                values[i] = T.CreateTruncating(isNorm ? 1 + normStd * Gaussian(random) : std * Gaussian(random));
        }
        model.Parameters.All.CopyFrom(values);
    }

    /// <summary>Box–Muller: deterministic for a seed on every platform, unlike a library sampler that may change.</summary>
    private static double Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
