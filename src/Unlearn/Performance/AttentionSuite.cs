using SimNpo.Kernels;

namespace SimNpo.Unlearn.Performance;

/// <summary>One causal attention call to time, written "BxHxTxD" as torch_bench.py reads it, and the model shape it comes from.</summary>
public sealed record AttentionCase(int Batch, int Heads, int Length, int HeadDim, string UsedBy)
{
    /// <summary>Multiply-adds of the causal half of one T×T×D product, over every batch and head.</summary>
    public double CausalMultiplyAdds => (double)Batch * Heads * Length * Length * HeadDim / 2;

    public AttentionShape Shape => new(Batch, Length, Length, Heads, Heads, HeadDim);

    public override string ToString() => $"{Batch}x{Heads}x{Length}x{HeadDim}";
}

/// <summary>
/// GFLOP/s of <see cref="IOps{T}.Attention"/> and of the forward followed by <see cref="IOps{T}.AttentionBackward"/> (as
/// autograd runs them), counted as FlashAttention counts: the forward's two products (Q·Kᵀ, P·V) are 4 FLOPs per causal
/// multiply-add, the backward's five (the recomputed Q·Kᵀ, dV, dP, dQ, dK) 10 more. Shapes come from the model shapes:
/// their heads and head dim at each given sequence length, with as many sequences as the shape's batch has tokens.
/// </summary>
public static class AttentionSuite
{
    public static string ForwardFigure(AttentionCase c) => $"attention {c} GFLOP/s";

    public static string BackwardFigure(AttentionCase c) => $"attention+backward {c} GFLOP/s";

    public static IReadOnlyList<AttentionCase> Cases(IEnumerable<BenchmarkShape> models, IEnumerable<int> lengths) =>
        (from model in models
         from length in lengths
         where length <= model.Config.MaxSequenceLength
         select new AttentionCase(Math.Max(1, model.Tokens / length), model.Config.NumAttentionHeads, length, model.Config.HeadDim, model.Name))
        .DistinctBy(c => c.ToString()).ToArray();

    /// <summary>Rounds over every case; inputs are seeded uniform values in [-1, 1), every sequence full length.</summary>
    public static CalibratedRounds Rounds(IOps<float> ops, IReadOnlyList<AttentionCase> cases, double minSeconds, Precision precision)
    {
        var random = new Random(0);
        var buffers = new List<IDisposable>();
        View<float> Buffer(int length, Storage storage, bool filled)
        {
            var buffer = ops.Allocate(length, storage);
            buffers.Add(buffer);
            if (filled) buffer.All.CopyFrom(Enumerable.Range(0, length).Select(_ => 2 * random.NextSingle() - 1).ToArray());
            return buffer.All;
        }
        try
        {
            var works = cases.SelectMany(c =>
            {
                var elements = c.Batch * c.Length * c.Heads * c.HeadDim;
                var (q, k, v, outputGrad) = (Buffer(elements, precision.Bulk, true), Buffer(elements, precision.Bulk, true),
                    Buffer(elements, precision.Bulk, true), Buffer(elements, precision.Bulk, true));
                var (output, qGrad, kGrad, vGrad) = (Buffer(elements, precision.Bulk, false), Buffer(elements, precision.Bulk, false),
                    Buffer(elements, precision.Bulk, false), Buffer(elements, precision.Bulk, false));
                var logSumExp = Buffer(c.Batch * c.Heads * c.Length, Storage.Native, false);
                var sequenceLengths = ops.AllocateInts(c.Batch);
                buffers.Add(sequenceLengths);
                sequenceLengths.All.CopyFrom(Enumerable.Repeat(c.Length, c.Batch).ToArray());
                var shape = c.Shape;
                void Forward() => ops.Attention(output, logSumExp, q, k, v, sequenceLengths.All, shape);
                // The backward adds into its gradients; their values grow over the rounds but stay far from overflow.
                return new[]
                {
                    new BenchWork(ForwardFigure(c), Forward, 4e-9 * c.CausalMultiplyAdds),
                    new BenchWork(BackwardFigure(c), () =>
                    {
                        Forward();
                        ops.AttentionBackward(qGrad, kGrad, vGrad, outputGrad, q, k, v, output, logSumExp, sequenceLengths.All, shape);
                    }, 14e-9 * c.CausalMultiplyAdds),
                };
            }).ToArray();
            return new CalibratedRounds(ops, works, minSeconds, new OwnedBuffers(buffers));
        }
        catch
        {
            new OwnedBuffers(buffers).Dispose();
            throw;
        }
    }
}
