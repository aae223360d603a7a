using System.Runtime.InteropServices;
using SimNpo.Unlearn.Distributed;

namespace SimNpo.Tests.Distributed;

public class InProcessGroupTests
{
    /// <summary>The sum is taken in rank order on every rank: ((r0 + r1) + r2) exactly, the same bits everywhere. The
    /// values are chosen so another order rounds differently (1e8 + 1 - 1e8 is 0 in float32, 1e8 - 1e8 + 1 is 1).</summary>
    [Test]
    public void AllReduceSumAddsInRankOrderOnEveryRank()
    {
        float[] contribution = [1e8f, 1f, -1e8f];
        var results = new float[3][];
        InProcessGroup.Run(3, comm =>
        {
            float[] mine = [contribution[comm.Rank], comm.Rank];
            comm.AllReduceSum(mine);
            results[comm.Rank] = mine;
        });
        var expected = new[] { 1e8f + 1f + -1e8f, 0f + 1f + 2f };
        Assert.That(results, Has.All.EqualTo(expected));
        Assert.That(expected[0], Is.EqualTo(0f), "the example must be sensitive to the order");
    }

    [Test]
    public void AllReduceSumOfDoublesMatchesRankOrder()
    {
        var results = new double[4][];
        InProcessGroup.Run(4, comm =>
        {
            double[] mine = [0.1 * (comm.Rank + 1)];
            comm.AllReduceSum(mine);
            results[comm.Rank] = mine;
        });
        Assert.That(results.Select(r => r[0]), Has.All.EqualTo(((0.1 + 0.2) + 0.30000000000000004) + 0.4));
    }

    [Test]
    public void AllGatherConcatenatesUnequalContributionsInRankOrder()
    {
        var results = new byte[3][];
        InProcessGroup.Run(3, comm =>
        {
            var mine = Enumerable.Repeat((byte)(10 + comm.Rank), comm.Rank + 1).ToArray();
            var all = new byte[6];
            comm.AllGather(mine, all, [1, 2, 3]);
            results[comm.Rank] = all;
        });
        Assert.That(results, Has.All.EqualTo(new byte[] { 10, 11, 11, 12, 12, 12 }));
    }

    [Test]
    public void BroadcastCopiesTheRootsBytes()
    {
        var results = new int[3][];
        InProcessGroup.Run(3, comm =>
        {
            int[] data = [comm.Rank * 7, comm.Rank * 7 + 1];
            comm.Broadcast(MemoryMarshal.AsBytes(data.AsSpan()), root: 2);
            results[comm.Rank] = data;
        });
        Assert.That(results, Has.All.EqualTo(new[] { 14, 15 }));
    }

    /// <summary>A rank that throws must not leave the others waiting in a collective forever.</summary>
    [Test]
    public void AFailingRankEndsTheGroupInsteadOfHanging()
    {
        var error = Assert.Throws<AggregateException>(() => InProcessGroup.Run(2, comm =>
        {
            if (comm.Rank == 1) throw new InvalidOperationException("rank 1 broke");
            comm.Barrier();
        }));
        Assert.That(error!.InnerException!.Message, Is.EqualTo("rank 1 broke"));
    }

    [Test]
    public void SingleProcessLeavesDataAsItIs()
    {
        float[] values = [1.5f, -2f];
        SingleProcess.Instance.AllReduceSum(values);
        var all = new byte[2];
        SingleProcess.Instance.AllGather(new byte[] { 3, 4 }, all, [2]);
        Assert.That((values, all), Is.EqualTo((new[] { 1.5f, -2f }, new byte[] { 3, 4 })));
    }
}
