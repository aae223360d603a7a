using System.Runtime.CompilerServices;
using SimNpo.Unlearn.Distributed.Nccl;
using SimNpo.Unlearn.Training;

namespace SimNpo.Tests.Distributed;

/// <summary>
/// Which path sums the gradients. No GPU or NCCL here: the NCCL calls themselves cannot run, so these check the choice,
/// its one message, and that loading a missing libnccl.so.2 fails cleanly with a reason rather than throwing.
/// </summary>
public class NcclSelectionTests
{
    [Test]
    public void OffCudaOrOnOneRankTheHostPathIsTakenSilentlyWithoutLookingForNccl()
    {
        var looked = false;
        string? Load()
        {
            looked = true;
            return null;
        }
        Assert.That(StepGradients.Decide(onCuda: false, ranks: 4, Load), Is.EqualTo((false, (string?)null)));
        Assert.That(StepGradients.Decide(onCuda: true, ranks: 1, Load), Is.EqualTo((false, (string?)null)));
        Assert.That(looked, Is.False);
    }

    [Test]
    public void OnCudaWithoutNcclTheMpiHostPathIsTakenWithOneMessageSayingWhy()
    {
        var (useNccl, message) = StepGradients.Decide(onCuda: true, ranks: 2, () => "libnccl.so.2 was not found");
        Assert.That(useNccl, Is.False);
        Assert.That(message, Is.EqualTo("NCCL: libnccl.so.2 was not found; gradients are summed over MPI through host memory instead "
            + "(copy to host, all-reduce, copy back)"));
    }

    [Test]
    public void OnCudaWithNcclItIsUsedAndSaidSo()
    {
        var (useNccl, message) = StepGradients.Decide(onCuda: true, ranks: 2, () => null);
        Assert.That(useNccl, Is.True);
        Assert.That(message, Does.Contain("summed on the GPUs with libnccl.so.2 across 2 ranks"));
    }

    [Test]
    public void AMissingLibraryIsAReasonNotAnException()
    {
        Assert.That(NcclLibrary.TryLoad(out var problem, "libnccl-absent-for-this-test.so.2"), Is.Null);
        Assert.That(problem, Does.StartWith("libnccl-absent-for-this-test.so.2 was not found"));
    }

    /// <summary>ncclUniqueId is 128 bytes passed by value (nccl.h NCCL_UNIQUE_ID_BYTES): the struct must be exactly that.</summary>
    [Test]
    public void TheUniqueIdIsNcclsSize() => Assert.That(Unsafe.SizeOf<NcclUniqueId>(), Is.EqualTo(128));
}
