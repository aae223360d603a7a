using System.Numerics;

namespace SimNpo.Model;

/// <summary>
/// Seeded random weights: normal(0, std) for every matrix, the norms' weights at their neutral value plus
/// normal(0, normStd) (1, or 0 for Gemma's, which scale by 1 + w), and the biases 0 plus normal(0, biasStd).
/// </summary>
public static class ModelInitializer
{
    public static void Randomize<T>(LlamaModel<T> model, int seed, double std = 0.02, double normStd = 0, double biasStd = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        var neutralNorm = NeutralNormWeight(model.Config);
        foreach (var entry in model.Layout.Entries)
        {
            var (center, spread) = ParameterLayout.IsNormWeight(entry.Name) ? (neutralNorm, normStd)
                : ParameterLayout.IsBias(entry.Name) ? (0.0, biasStd) : (0.0, std);
            var values = new T[entry.Length];
            for (var i = 0; i < values.Length; i++)
                values[i] = T.CreateTruncating(center + spread * Gaussian(random));
            model.SetWeights(entry, 0, values);
        }
    }

    /// <summary>The norm weight that leaves the normalised values unscaled: 1, or 0 where the norm multiplies by 1 + w (Gemma).</summary>
    public static double NeutralNormWeight(LlamaConfig config) => config.Family.Norm == Families.NormKind.RmsNormPlusOne ? 0 : 1;

    /// <summary>
    /// Uniform weights of standard deviation <paramref name="std"/> (norm weights neutral, biases 0) for benchmarks, where only the scale
    /// matters: each value is a hash of (seed, index), so blocks fill in parallel, the numbers do not depend on the thread
    /// count, and a billion parameters take seconds where <see cref="Randomize{T}"/> would take a minute. Uploaded in
    /// blocks, so no host copy of the whole model is made.
    /// </summary>
    public static void RandomizeUniform<T>(LlamaModel<T> model, int seed, double std = 0.02)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int Block = 1 << 24, Part = 1 << 16;
        var halfWidth = std * Math.Sqrt(3);
        var buffer = new T[Math.Min(Block, model.Layout.Entries.Max(entry => entry.Length))];
        // Value i of the model's order is a hash of (seed, i), whatever tensor and chunk it lies in.
        var neutralNorm = T.CreateTruncating(NeutralNormWeight(model.Config));
        foreach (var entry in model.Layout.Entries)
        {
            T? constant = ParameterLayout.IsNormWeight(entry.Name) ? neutralNorm : ParameterLayout.IsBias(entry.Name) ? T.Zero : null;
            for (var start = 0; start < entry.Length; start += Block)
            {
                var count = Math.Min(Block, entry.Length - start);
                var first = entry.Start + start;
                Parallel.For(0, (count + Part - 1) / Part, part =>
                {
                    for (var j = part * Part; j < Math.Min(count, (part + 1) * Part); j++)
                        buffer[j] = constant ?? T.CreateTruncating(halfWidth * (2 * UnitInterval(seed, first + j) - 1));
                });
                model.SetWeights(entry, start, buffer.AsSpan(0, count));
            }
        }
    }

    /// <summary>SplitMix64's finaliser of (seed, index): a uniform double in [0, 1).</summary>
    private static double UnitInterval(int seed, long index)
    {
        var z = (ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index * 0xD1B54A32D192ED03UL + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return ((z ^ (z >> 31)) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Box–Muller: deterministic for a seed on every platform, unlike a library sampler that may change.</summary>
    private static double Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
