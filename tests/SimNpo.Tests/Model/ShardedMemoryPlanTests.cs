using SimNpo.Kernels;
using SimNpo.Model;

namespace SimNpo.Tests.Model;

/// <summary>
/// The per-rank memory plan of data-parallel training, and ZeRO stage 1's cut of the parameters into slices: Llama-2-7B
/// in bf16 with recomputation does not fit an 80 GB device per rank unsharded (108.96 GB, as one process) but does with
/// the optimizer sharded across two.
/// </summary>
public class ShardedMemoryPlanTests
{
    /// <summary>
    /// P = 6,738,415,616 splits evenly: 3,369,207,808 parameters a rank. Master weights 4 B and two fp32 moments 8 B per
    /// parameter of the slice: 13.477 + 26.954 GB; weights and gradients (2 B each, whole) and the activations stay as in
    /// one process. 108,957,958,192 − 12 × 3,369,207,808 = 68,527,464,496 bytes, 68.53 GB: fits 80 GB with 11.47 to spare.
    /// </summary>
    [Test]
    public void Llama2_7BInBf16ShardedAcrossTwoRanksFits80GigabytesPerRank()
    {
        var single = MemoryPlan.ForTraining(MemoryPlanTests.Llama2_7B(), Precision.Bf16, Storage.Native, Recompute.Layers, 4, 512);
        var plan = single.ForRanks(2, shardOptimizer: true);
        const long slice = MemoryPlanTests.Llama2_7BParameters / 2;
        Assert.That(plan.Weights, Is.EqualTo(single.Weights));
        Assert.That(plan.Gradients, Is.EqualTo(single.Gradients));
        Assert.That(plan.Activations, Is.EqualTo(single.Activations));
        Assert.That(plan.MasterWeights, Is.EqualTo(4 * slice));
        Assert.That(plan.Moments, Is.EqualTo(8 * slice));
        Assert.That(plan.Total, Is.EqualTo(68_527_464_496));
        Assert.That(plan.Fits(80), Is.True);
        var unsharded = single.ForRanks(2, shardOptimizer: false);
        Assert.That(unsharded.Total, Is.EqualTo(single.Total));
        var refusal = Assert.Throws<InsufficientMemoryException>(() => unsharded.EnsureFits(80))!;
        Assert.That(refusal.Message, Does.Contain("108.96 GB per rank").And.Contain("--shard-optimizer"));
    }

    [Test]
    public void AnUnevenCountGivesTheLargestSliceItsExtraElement()
    {
        Assert.That(ParameterShard.LargestLength(10, 3), Is.EqualTo(4));
        Assert.That(Enumerable.Range(0, 3).Select(r => ParameterShard.Bounds(10, r, 3)), Is.EqualTo(new[] { (0L, 3L), (3L, 6L), (6L, 10L) }));
    }

    /// <summary>The slices of every rank cover the layout once, in order, each piece inside one chunk, sizes within one element.</summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(7)]
    public void TheSlicesTileTheLayoutAcrossChunks(int ranks)
    {
        var config = ModelFiles.LoadConfig(Path.Combine(AppContext.BaseDirectory, "Fixtures", "llama", "untied"));
        var layout = new ParameterLayout(config, maxChunkLength: 300);
        var shards = Enumerable.Range(0, ranks).Select(rank => new ParameterShard(layout, rank, ranks)).ToArray();
        var next = 0L;
        foreach (var shard in shards)
        {
            Assert.That(shard.Start, Is.EqualTo(next));
            Assert.That(shard.Length, Is.InRange(layout.TotalLength / ranks, ParameterShard.LargestLength(layout.TotalLength, ranks)));
            var shardOffset = 0L;
            foreach (var segment in shard.Segments)
            {
                Assert.That(segment.ChunkOffset + segment.Length, Is.LessThanOrEqualTo(layout.ChunkLengths[segment.Chunk]));
                Assert.That(segment.Start, Is.EqualTo(layout.ChunkLengths.Take(segment.Chunk).Sum(length => (long)length) + segment.ChunkOffset));
                Assert.That(segment.ShardOffset, Is.EqualTo(shardOffset));
                shardOffset += segment.Length;
            }
            Assert.That(shardOffset, Is.EqualTo(shard.Length));
            next = shard.End;
        }
        Assert.That(next, Is.EqualTo(layout.TotalLength));
    }
}
