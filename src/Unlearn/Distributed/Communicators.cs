namespace SimNpo.Unlearn.Distributed;

/// <summary>Picks the communicator for this process: MPI when a launcher (mpirun, mpiexec) started it, else one process.</summary>
public static class Communicators
{
    public static ICommunicator FromEnvironment()
    {
        var mpi = MpiLibrary.ForLauncher(Environment.GetEnvironmentVariable);
        return mpi is null ? SingleProcess.Instance : new MpiCommunicator(mpi);
    }

    /// <summary>This process's group, for code that trains or evaluates: one process unless the command line set it from the environment.</summary>
    public static ICommunicator World { get; set; } = SingleProcess.Instance;
}
