using SimNpo.Unlearn.Distributed;

namespace SimNpo.Cli;

/// <summary>
/// This process's place in an MPI job (or a job of one). Ranks other than 0 print nothing on standard output (their
/// errors still reach standard error); a rank that ends with a failure aborts the whole job, since the other ranks would
/// wait for it in their next collective.
/// </summary>
public static class Ranks
{
    public static ICommunicator Join()
    {
        var world = Communicators.FromEnvironment();
        Communicators.World = world;
        if (!world.IsRoot) Console.SetOut(TextWriter.Null);
        return world;
    }

    public static int Leave(ICommunicator world, int code)
    {
        if (code != CommandRunner.Success && world is MpiCommunicator { Size: > 1 } mpi)
        {
            Console.Error.WriteLine($"error: rank {mpi.Rank} of {mpi.Size} failed (exit code {code}): ending every rank of the job");
            mpi.Abort(code);
        }
        world.Dispose();
        return code;
    }
}
