using SimNpo.Kernels.Runtime;

namespace SimNpo.Tests.Distributed;

/// <summary>Each rank of a job on a machine with several GPUs opens its own: the launcher's local rank modulo the GPUs seen.</summary>
public class LocalRankTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Test]
    public void TheLauncherSaysWhichLocalRankThisIs()
    {
        Assert.That(LocalRank.From(Environment()), Is.Zero, "started alone");
        Assert.That(LocalRank.From(Environment(("OMPI_COMM_WORLD_LOCAL_RANK", "3"))), Is.EqualTo(3), "Open MPI");
        Assert.That(LocalRank.From(Environment(("MPI_LOCALRANKID", "2"))), Is.EqualTo(2), "MPICH's Hydra");
        Assert.That(LocalRank.From(Environment(("SLURM_LOCALID", "1"), ("LOCAL_RANK", "5"))), Is.EqualTo(1), "Slurm before a generic LOCAL_RANK");
        Assert.That(LocalRank.From(Environment(("OMPI_COMM_WORLD_LOCAL_RANK", "0"), ("SLURM_LOCALID", "7"))), Is.Zero, "mpirun inside a Slurm job");
    }

    [Test]
    public void ALocalRankThatIsNoNumberIsAClearError()
    {
        var error = Assert.Throws<ArgumentException>(() => LocalRank.From(Environment(("OMPI_COMM_WORLD_LOCAL_RANK", "-1"))));
        Assert.That(error!.Message, Is.EqualTo("OMPI_COMM_WORLD_LOCAL_RANK=-1 is not a local rank (a number from 0)"));
    }

    [TestCase(0, 8, 0)]
    [TestCase(5, 8, 5)]
    [TestCase(5, 4, 1)]
    [TestCase(3, 1, 0)] // CUDA_VISIBLE_DEVICES gave the rank one GPU
    [TestCase(2, 0, 0)]
    public void EachRankTakesItsDeviceModuloThoseItSees(int localRank, int devices, int index) =>
        Assert.That(LocalRank.DeviceIndex(localRank, devices), Is.EqualTo(index));
}
