using System.Numerics;

namespace SimNpo.Kernels.Cpu;

/// <summary>
/// <see cref="AdamW"/> in float32, vectorised over fixed ranges in parallel: each element read and written once, with the
/// step's constants narrowed once (<see cref="AdamW.Float32Step"/>), as the device kernel does. Operands stored as bfloat16
/// are widened a block at a time into per-range scratch and rounded back after the update; with master weights the update
/// runs on the float32 master and the bfloat16 parameters receive its rounding in the same pass.
/// </summary>
internal static class FastAdamW
{
    /// <summary>Elements widened at a time: four blocks of scratch (16 KiB) stay in L1 beside the operands streaming through.</summary>
    private const int Block = 1024;

    public static void Step(View<float> parameters, View<float> gradients, View<float> firstMoment, View<float> secondMoment, AdamWStep step,
        View<float>? masterWeights)
    {
        AdamW.CheckOperands(parameters, gradients, firstMoment, secondMoment, masterWeights);
        var c = AdamW.Float32Step.From(step);
        var (p, g, m, v) = (Operand.Of(parameters), Operand.Of(gradients), Operand.Of(firstMoment), Operand.Of(secondMoment));
        var master = masterWeights is { } view ? Operand.Of(view) : (Operand?)null;
        Partitions.For(parameters.Length, Partitions.Elements, part =>
        {
            Span<float> scratch = stackalloc float[4 * Block];
            for (var start = part.Start; start < part.End; start += Block)
            {
                var n = Math.Min(Block, part.End - start);
                var gradient = g.Load(start, n, scratch.Slice(0, Block));
                var first = m.Load(start, n, scratch.Slice(Block, Block));
                var second = v.Load(start, n, scratch.Slice(2 * Block, Block));
                var weights = (master ?? p).Load(start, n, scratch.Slice(3 * Block, Block));
                Update(weights, gradient, first, second, c);
                m.Store(start, first);
                v.Store(start, second);
                // Native operands were updated in place; bfloat16 ones (the parameters beside a master) take the rounding.
                p.Store(start, weights);
            }
        });
    }

    private static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, AdamW.Float32Step c)
    {
        for (var i = 0; i < p.Length; i += Vectors.Width)
        {
            var gradient = Vectors.Load(g, i);
            var first = c.Beta1 * Vectors.Load(m, i) + c.OneMinusBeta1 * gradient;
            var second = c.Beta2 * Vectors.Load(v, i) + c.OneMinusBeta2 * gradient * gradient;
            Vectors.Store(Vectors.Load(p, i) * c.Decay - c.StepSize * first / (Vector.SquareRoot(second) * c.SecondScale + new Vector<float>(c.Epsilon)), p, i);
            Vectors.Store(first, m, i);
            Vectors.Store(second, v, i);
        }
    }

    /// <summary>A float32 operand on the host: its floats, read and written in place, or its bfloat16 words, widened and rounded.</summary>
    private readonly record struct Operand(Memory<float> Floats, Memory<ushort> Words, bool IsWords)
    {
        public static Operand Of(View<float> view) =>
            view.Storage == Storage.BFloat16 ? new(default, view.Bits(), true) : new(view.Memory, default, false);

        /// <summary>Elements [start, start + n) as floats: the operand itself, or its words widened into scratch.</summary>
        public Span<float> Load(int start, int n, Span<float> scratch)
        {
            if (!IsWords) return Floats.Span.Slice(start, n);
            BFloat16.Widen(Words.Span.Slice(start, n), scratch[..n]);
            return scratch[..n];
        }

        /// <summary>Writes back what <see cref="Load"/> gave, rounding it to bfloat16; native operands already hold it.</summary>
        public void Store(int start, ReadOnlySpan<float> values)
        {
            if (IsWords) BFloat16.Narrow(values, Words.Span.Slice(start, values.Length));
        }
    }
}
