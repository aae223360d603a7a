using System.Globalization;

namespace SimNpo.Kernels.Runtime;

/// <summary>
/// This process's place among the processes of one job on its machine, as MPI launchers and Slurm tell it through the
/// environment: each rank of a data-parallel job on a machine with several GPUs takes its own (local rank modulo the
/// GPUs it sees), the usual one-GPU-per-rank placement. A process started alone is rank 0 and takes the first GPU.
/// </summary>
public static class LocalRank
{
    /// <summary>Open MPI, MPICH's Hydra (and Intel MPI), Slurm's srun, and torchrun-style launchers, in that order.</summary>
    public static readonly string[] Variables = ["OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "LOCAL_RANK"];

    public static int Current => From(Environment.GetEnvironmentVariable);

    public static int From(Func<string, string?> environment)
    {
        foreach (var variable in Variables)
            if (environment(variable) is { } text)
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var rank)
                    ? rank
                    : throw new ArgumentException($"{variable}={text} is not a local rank (a number from 0)");
        return 0;
    }

    /// <summary>The device a rank opens among those it sees: local rank modulo their count (CUDA_VISIBLE_DEVICES applies first).</summary>
    public static int DeviceIndex(int localRank, int devices) => devices == 0 ? 0 : localRank % devices;
}
