using SimNpo.Kernels;

namespace SimNpo.Unlearn.Performance;

/// <summary>A linear layer's matmul: [Rows, InDim] · [OutDim, InDim]ᵀ, written "MxKxN" as torch_bench.py reads it.</summary>
public readonly record struct MatMulShape(int Rows, int InDim, int OutDim)
{
    public double MultiplyAdds => (double)Rows * InDim * OutDim;

    public override string ToString() => $"{Rows}x{InDim}x{OutDim}";
}

/// <summary>One shape of the sgemm suite and where it comes from ("square", or the layers of the model shapes that run it).</summary>
public sealed record SgemmCase(MatMulShape Shape, string UsedBy);

/// <summary>
/// GFLOP/s of <see cref="IOps{T}.MatMul"/> and, separately, <see cref="IOps{T}.MatMulBackward"/> (both gradients: twice
/// the forward's FLOPs) at square sizes and at the linear layers of model shapes with batch × sequence rows.
/// </summary>
public static class SgemmSuite
{
    public static string MatMulFigure(MatMulShape shape) => $"matmul {shape} GFLOP/s";

    public static string BackwardFigure(MatMulShape shape) => $"backward {shape} GFLOP/s";

    /// <summary>
    /// The square sizes, then each model's layer shapes; a shape met again only adds to its "used by"
    /// ("square; 15M q, o, k, v").
    /// </summary>
    public static IReadOnlyList<SgemmCase> Cases(IEnumerable<int> squareSizes, IEnumerable<BenchmarkShape> models)
    {
        var uses = new Dictionary<MatMulShape, List<(string Source, string Layer)>>();
        void Use(MatMulShape shape, string source, string layer)
        {
            if (!uses.TryGetValue(shape, out var list)) uses[shape] = list = [];
            if (!list.Contains((source, layer))) list.Add((source, layer));
        }
        foreach (var size in squareSizes)
        {
            if (size < 1) throw new ArgumentException($"sgemm sizes must be positive, got {size}");
            Use(new MatMulShape(size, size, size), "square", "");
        }
        foreach (var model in models)
        {
            var (c, rows) = (model.Config, model.Tokens);
            Use(new MatMulShape(rows, c.HiddenSize, c.QueryWidth), model.Name, "q");
            Use(new MatMulShape(rows, c.HiddenSize, c.KvWidth), model.Name, "k, v");
            Use(new MatMulShape(rows, c.QueryWidth, c.HiddenSize), model.Name, "o");
            Use(new MatMulShape(rows, c.HiddenSize, c.IntermediateSize), model.Name, "gate, up");
            Use(new MatMulShape(rows, c.IntermediateSize, c.HiddenSize), model.Name, "down");
            Use(new MatMulShape(rows, c.HiddenSize, c.VocabSize), model.Name, "output");
        }
        static string Describe(List<(string Source, string Layer)> list) => string.Join("; ",
            list.GroupBy(u => u.Source).Select(g => $"{g.Key} {string.Join(", ", g.Select(u => u.Layer))}".Trim()));
        return uses.Select(u => new SgemmCase(u.Key, Describe(u.Value))).ToArray();
    }

    /// <summary>
    /// Rounds over every case, forward and backward. All cases share six buffers sized for the largest, so memory is
    /// that of the largest case, not of all; inputs are seeded uniform values in [-1, 1).
    /// </summary>
    public static CalibratedRounds Rounds(IOps<float> ops, IReadOnlyList<SgemmCase> cases, double minSeconds, Precision precision)
    {
        var shapes = cases.Select(c => c.Shape).ToArray();
        int Largest(Func<MatMulShape, long> length) => checked((int)shapes.Max(length));
        var random = new Random(0);
        DeviceBuffer<float> Filled(int length)
        {
            var buffer = ops.Allocate(length, precision.Bulk);
            buffer.All.CopyFrom(Enumerable.Range(0, length).Select(_ => 2 * random.NextSingle() - 1).ToArray());
            return buffer;
        }
        var input = Filled(Largest(s => (long)s.Rows * s.InDim));
        var weight = Filled(Largest(s => (long)s.OutDim * s.InDim));
        var outputGrad = Filled(Largest(s => (long)s.Rows * s.OutDim));
        var output = ops.Allocate(Largest(s => (long)s.Rows * s.OutDim), precision.Bulk);
        var inputGrad = ops.Allocate(input.Length, precision.Bulk);
        var weightGrad = ops.Allocate(weight.Length, precision.Bulk);
        var buffers = new OwnedBuffers([input, weight, outputGrad, output, inputGrad, weightGrad]);
        try
        {
            var works = shapes.SelectMany(s =>
            {
                var (x, w) = (Take(input, s.Rows * s.InDim), Take(weight, s.OutDim * s.InDim));
                var (y, dy) = (Take(output, s.Rows * s.OutDim), Take(outputGrad, s.Rows * s.OutDim));
                var (dx, dw) = (Take(inputGrad, x.Length), Take(weightGrad, w.Length));
                // Backward adds into its gradients; their values grow over the rounds but stay far from overflow.
                return new[]
                {
                    new BenchWork(MatMulFigure(s), () => ops.MatMul(y, x, w, s.Rows, s.InDim, s.OutDim), 2e-9 * s.MultiplyAdds),
                    new BenchWork(BackwardFigure(s), () => ops.MatMulBackward(dx, dw, dy, x, w, s.Rows, s.InDim, s.OutDim), 4e-9 * s.MultiplyAdds),
                };
            }).ToArray();
            return new CalibratedRounds(ops, works, minSeconds, buffers);
        }
        catch
        {
            buffers.Dispose();
            throw;
        }
    }

    private static View<float> Take(DeviceBuffer<float> buffer, int length) => buffer.All.Slice(0, length);
}
