using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Model;
using SimNpo.Tests.Performance;
using SimNpo.Unlearn.Performance;

namespace SimNpo.Tests.Kernels;

/// <summary>The timing decorator over one SimNPO step of the tiny model (2 layers, batch 3 × 12, 24 scored positions).</summary>
public class TimedOpsTests
{
    private const int Layers = 2, Batch = 3, Length = 12, Rows = Batch * Length, Scored = Batch * (Length - SyntheticStep.PromptLength);

    private static Dictionary<OpName, OpTotals> OneStep(TimedOps<float> ops)
    {
        using var step = SyntheticStep.Randomized(ops, SyntheticStepTests.Tiny, Batch, Length, seed: 3);
        ops.Reset(); // the optimizer zeroes its moments when it is built
        step.Run();
        return ops.Totals().ToDictionary(t => t.Op);
    }

    /// <summary>
    /// Per block 7 projections and their backward, 2 norms, 2 rotations (q, k), one attention, one SwiGLU, 2 residual
    /// adds; plus the final norm, the chunked output loss, 3 gathers (token embedding, scored rows, sequence weights), 3
    /// scatter-adds (per-sequence sums, scored rows' gradient, embedding gradient) and one gradient norm. AdamW once per
    /// run of parameters that share the decay flag (the norms' weights are not decayed): the embedding, per block its
    /// first norm, attention, second norm and MLP, the final norm and the (untied) head.
    /// Zeroing: the gradients, the sequence sums, 3 gradient scratches before the blocks and 9 in each block's backward.
    /// </summary>
    [Test]
    public void CountsTheCallsOfOneStep()
    {
        var totals = OneStep(new TimedOps<float>(new ReferenceOps<float>()));
        var expected = new Dictionary<OpName, long>
        {
            [OpName.MatMul] = 7 * Layers, [OpName.MatMulBackward] = 7 * Layers,
            [OpName.RmsNorm] = 2 * Layers + 1, [OpName.RmsNormBackward] = 2 * Layers + 1,
            [OpName.Rope] = 2 * Layers, [OpName.RopeBackward] = 2 * Layers,
            [OpName.Attention] = Layers, [OpName.AttentionBackward] = Layers,
            [OpName.GatedActivation] = Layers, [OpName.GatedActivationBackward] = Layers, [OpName.Add] = 2 * Layers,
            [OpName.ChunkedOutputLoss] = 1, [OpName.ChunkedOutputLossBackward] = 1,
            [OpName.GatherRows] = 3, [OpName.ScatterAddRows] = 3,
            [OpName.Zero] = 5 + 9 * Layers, [OpName.SumOfSquares] = 1, [OpName.AdamW] = 4 * Layers + 3,
        };
        // Scale runs only when the gradient norm is clipped: not for these small random weights.
        Assert.That(totals.ToDictionary(t => t.Key, t => t.Value.Calls), Is.EquivalentTo(expected));
        Assert.That(totals.Values.All(t => t.Seconds > 0), "every op took some time");
    }

    /// <summary>
    /// By hand. A block's projections hold 32·32 (q) + 2·32·16 (k, v) + 32·32 (o) + 3·32·48 = 7680 weights: MatMul
    /// 2·36·7680·2 = 1,105,920, its backward twice that. Chunked output loss 2·24·32·96 = 147,456, its backward 3 times that.
    /// Attention: 4 heads of 8, the causal triangle of 12 holds 78 query-key pairs: 4·3·4·8·78·2 = 59,904, backward 2.5
    /// times. MatMul bytes: each projection's input, weight and output, 24,384 elements per block, 4 bytes each.
    /// </summary>
    [Test]
    public void CostsMatchTheHandCount()
    {
        var totals = OneStep(new TimedOps<float>(new ReferenceOps<float>()));
        Assert.That(totals[OpName.MatMul].Flops, Is.EqualTo(2L * Rows * 7680 * Layers));
        Assert.That(totals[OpName.MatMulBackward].Flops, Is.EqualTo(4L * Rows * 7680 * Layers));
        Assert.That(totals[OpName.ChunkedOutputLoss].Flops, Is.EqualTo(2L * Scored * 32 * 96));
        Assert.That(totals[OpName.ChunkedOutputLossBackward].Flops, Is.EqualTo(6L * Scored * 32 * 96));
        Assert.That(totals[OpName.Attention].Flops, Is.EqualTo(4L * Batch * 4 * 8 * 78 * Layers));
        Assert.That(totals[OpName.AttentionBackward].Flops, Is.EqualTo(10L * Batch * 4 * 8 * 78 * Layers));
        Assert.That(totals[OpName.MatMul].Bytes, Is.EqualTo(4L * 24_384 * Layers));
        Assert.That(totals[OpName.AdamW].Bytes, Is.EqualTo(4L * 7 * new ParameterLayout(SyntheticStepTests.Tiny).TotalLength));
        Assert.That(totals.Values.Where(t => t.Op is not (OpName.MatMul or OpName.MatMulBackward or OpName.Attention or OpName.AttentionBackward
            or OpName.ChunkedOutputLoss or OpName.ChunkedOutputLossBackward)).All(t => t.Flops == 0 && t.Bytes > 0), "the rest counted by bytes");
    }

    [Test]
    public void ForwardsEveryOpUnchanged()
    {
        double Loss(IOps<float> ops)
        {
            using var step = SyntheticStep.Randomized(ops, SyntheticStepTests.Tiny, Batch, Length, seed: 5, learningRate: 1e-2);
            step.Run();
            return step.Run();
        }
        Assert.That(Loss(new TimedOps<float>(new ReferenceOps<float>())), Is.EqualTo(Loss(new ReferenceOps<float>())));
    }

    /// <summary>TimedOps.g.cs is generated from IOps: an op added to IOps without rerunning tools/codegen/timed_ops.py shows here.</summary>
    /// <summary>A bfloat16 view moves 2 bytes an element, a float32 one 4: Scale reads and writes each element once.</summary>
    [Test]
    public void BytesFollowTheStorage()
    {
        var ops = new TimedOps<float>(new FastCpuOps());
        ops.Scale(ops.Allocate(1000).All, 2);
        ops.Scale(ops.Allocate(1000, Storage.BFloat16).All, 2);
        Assert.That(ops.Totals().Single(t => t.Op == OpName.Scale).Bytes, Is.EqualTo(2 * 1000 * 4 + 2 * 1000 * 2));
    }

    [Test]
    public void NamesEveryOpOfTheInterfaceInItsOrder()
    {
        string[] untimed = [nameof(IOps<float>.Allocate), nameof(IOps<float>.Supports), nameof(IOps<float>.AllocateInts), nameof(IOps<float>.Synchronize)];
        var ops = typeof(IOps<float>).GetMethods().Where(m => !m.IsSpecialName).Select(m => m.Name).Except(untimed);
        Assert.That(Enum.GetNames<OpName>(), Is.EqualTo(ops.ToArray()));
    }

    [Test]
    public void ResetForgetsTheCounts()
    {
        var ops = new TimedOps<float>(new ReferenceOps<float>());
        OneStep(ops);
        ops.Reset();
        Assert.That(ops.Totals(), Is.Empty);
    }

    [Test]
    public void TimesACallWithoutAllocating()
    {
        var inner = new ReferenceOps<float>();
        IOps<float> timed = new TimedOps<float>(inner);
        using var buffer = inner.Allocate(3 * 256);
        var (a, b, sum) = (buffer.All.Slice(0, 256), buffer.All.Slice(256, 256), buffer.All.Slice(512, 256));
        timed.Add(sum, a, b); // first call: JIT
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            timed.Add(sum, a, b);
            timed.Zero(sum);
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    /// <summary>Decoding: one query at position 9 sees all 10 keys, not a triangle.</summary>
    [Test]
    public void AttentionCostCountsTheKeysAQueryAtAnOffsetSees() =>
        Assert.That(OpCosts.Attention(new AttentionShape(1, 1, 10, 4, 2, 8, QueryStart: 9), sizeof(float)).Flops, Is.EqualTo(4L * 4 * 8 * 10));
}
