using System.Runtime.InteropServices;
using SimNpo.Kernels;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Distributed.Nccl;

namespace SimNpo.Tests.Distributed.Nccl;

/// <summary>
/// NcclLibrary's five calls against the stand-in compiled from NCCL 2's prototypes (<see cref="FakeNccl"/>): the 128-byte
/// unique id arrives whole by value, the ranks meet, and the all-reduce gets the buffer, count, data type, op and stream
/// it is given, and sums in place. This checks the binding's calling convention and arguments, not NCCL: that needs a GPU.
/// </summary>
[NonParallelizable]
public class NcclBindingTests
{
    private static NcclLibrary Load() =>
        NcclLibrary.TryLoad(out var problem, FakeNccl.Library) ?? throw new AssertionException($"the stand-in did not load: {problem}");

    /// <summary>Three ranks as threads: each adds (rank + 1) · base in place; the sums are exact (small dyadic values).</summary>
    [TestCase(NcclLibrary.Float32)]
    [TestCase(NcclLibrary.BFloat16)]
    public unsafe void ThreeRanksSumInPlaceWithTheIdRank0Made(int dataType)
    {
        var library = Load();
        var before = FakeNccl.Read();
        float[] values = [1, -0.5f, 0.25f, 3, 0];
        var id = library.GetUniqueId();
        var results = new float[3][];
        var stream = (IntPtr)0x5EED;
        Parallel.For(0, 3, new ParallelOptions { MaxDegreeOfParallelism = 3 }, rank =>
        {
            var comm = library.CommInitRank(3, id, rank);
            var mine = values.Select(v => v * (rank + 1)).ToArray();
            if (dataType == NcclLibrary.Float32)
                fixed (float* buffer = mine) library.AllReduceSumInPlace((IntPtr)buffer, mine.Length, dataType, comm, stream);
            else
            {
                var words = new ushort[mine.Length];
                BFloat16.Narrow(mine, words);
                fixed (ushort* buffer = words) library.AllReduceSumInPlace((IntPtr)buffer, words.Length, dataType, comm, stream);
                BFloat16.Widen(words, mine);
            }
            results[rank] = mine;
            library.CommDestroy(comm);
        });
        Assert.That(results, Has.All.EqualTo(values.Select(v => 6 * v).ToArray()), "every rank holds 1 + 2 + 3 times the values");
        var calls = FakeNccl.Read();
        Assert.That(calls with { AllReduces = 0 }, Is.EqualTo(new FakeNccl.Calls(0, 5, dataType, NcclLibrary.Sum, true, stream, before.CommunicatorsAlive)));
        Assert.That(calls.AllReduces - before.AllReduces, Is.EqualTo(3));
    }

    /// <summary>An id that arrives changed (one bit) joins no group: ncclCommInitRank fails, reported with NCCL's reason.</summary>
    [Test]
    public void ADamagedIdIsRefusedWithNcclsErrorString()
    {
        var library = Load();
        var id = library.GetUniqueId();
        MemoryMarshal.AsBytes(new Span<NcclUniqueId>(ref id))[100] ^= 1;
        var error = Assert.Throws<IOException>(() => library.CommInitRank(1, id, 0));
        Assert.That(error!.Message, Is.EqualTo("ncclCommInitRank failed: invalid argument (ncclResult_t 4)"));
    }

    [Test]
    public void ALibraryWithoutNcclsFunctionsIsAReason()
    {
        Assert.That(NcclLibrary.TryLoad(out var problem, "libm.so.6"), Is.Null);
        Assert.That(problem, Does.StartWith("libm.so.6 lacks an NCCL 2 function"));
    }

    /// <summary>
    /// NcclGroup over an in-process group of 2: rank 0's id travels through the communicator's broadcast, and the sums run
    /// on device views of ILGPU's simulator (float32 and bfloat16 words), where the group passes the default stream (0).
    /// </summary>
    [TestCase("fp32", NcclLibrary.Float32)]
    [TestCase("bf16", NcclLibrary.BFloat16)]
    public void AGroupSumsDeviceViewsAcrossRanks(string precision, int dataType)
    {
        var library = Load();
        var ops = Kernels.Ilgpu.SimulatedDevices.Get(Kernels.Ilgpu.SimulatedDevices.Default);
        var results = new float[2][];
        InProcessGroup.Run(2, group =>
        {
            using var nccl = new NcclGroup(library, ops, group);
            using var buffer = ops.Allocate(7, SimNpo.Kernels.Precision.Parse(precision).Bulk);
            var view = new View<float>(buffer, 2, 4); // off the buffer's start: the address must include the offset
            view.CopyFrom([1, 2, 4, -8 * (group.Rank + 1)]);
            nccl.AllReduceSum(view);
            results[group.Rank] = view.ToArray();
        });
        Assert.That(results, Has.All.EqualTo(new float[] { 2, 4, 8, -24 }));
        Assert.That(FakeNccl.Read() with { AllReduces = 0, CommunicatorsAlive = 0 },
            Is.EqualTo(new FakeNccl.Calls(0, 4, dataType, NcclLibrary.Sum, true, IntPtr.Zero, 0)));
    }
}
