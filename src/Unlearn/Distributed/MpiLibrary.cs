using System.Runtime.InteropServices;

namespace SimNpo.Unlearn.Distributed;

/// <summary>
/// The few calls of the MPI C API this program makes, bound at run time (no MPI is needed to build or to run one
/// process). Two ABIs: Open MPI's (libmpi.so.40), whose handles are the addresses of exported objects (MPI_COMM_WORLD
/// is &amp;ompi_mpi_comm_world), and MPICH's (libmpich.so.12; also Intel MPI, MVAPICH, Cray MPICH), whose handles are
/// int constants from its mpi.h. Both pass a handle in one register, so one set of function pointers over nint serves both.
/// </summary>
internal sealed unsafe class MpiLibrary
{
    public const int ThreadSerialized = 2; // MPI_THREAD_SERIALIZED in both mpi.h: calls come from one thread at a time
    public const int Success = 0;

    public required string Name { get; init; }
    public required nint World { get; init; }
    public required nint Byte { get; init; }
    public required nint Float { get; init; }
    public required nint Double { get; init; }
    public required nint Sum { get; init; }
    public required nint ErrorsReturn { get; init; }

    public delegate* unmanaged<int*, nint*, int, int*, int> InitThread;
    public delegate* unmanaged<int*, int> Initialized;
    public delegate* unmanaged<int> Finalize;
    public delegate* unmanaged<nint, int*, int> CommRank;
    public delegate* unmanaged<nint, int*, int> CommSize;
    public delegate* unmanaged<nint, nint, int> CommSetErrhandler;
    public delegate* unmanaged<nint, int, int> Abort;
    public delegate* unmanaged<nint, int> Barrier;
    public delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
    public delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int> Allgatherv;
    public delegate* unmanaged<void*, int*, int*, nint, void*, int*, int*, nint, nint, int> Alltoallv;
    public delegate* unmanaged<int, byte*, int*, int> ErrorString;

    /// <summary>The library of the launcher that started this process: Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE, MPICH's PMI_SIZE.</summary>
    public static MpiLibrary? ForLauncher(Func<string, string?> environment)
    {
        if (environment("OMPI_COMM_WORLD_SIZE") is not null) return OpenMpi(Load("libmpi.so.40", "Open MPI (Debian: apt-get install libopenmpi3)"));
        if (environment("PMI_SIZE") is not null || environment("PMI_RANK") is not null)
            return Mpich(Load("libmpich.so.12", "MPICH (Debian: apt-get install libmpich12)"));
        return null;
    }

    private static nint Load(string name, string package)
    {
        if (NativeLibrary.TryLoad(name, out var handle)) return handle;
        throw new DllNotFoundException($"started by an MPI launcher, but {name} of {package} cannot be loaded");
    }

    private static MpiLibrary OpenMpi(nint library)
    {
        nint Object(string symbol) => NativeLibrary.GetExport(library, symbol);
        return Bind(library, new MpiLibrary
        {
            Name = "Open MPI",
            World = Object("ompi_mpi_comm_world"),
            Byte = Object("ompi_mpi_byte"),
            Float = Object("ompi_mpi_float"),
            Double = Object("ompi_mpi_double"),
            Sum = Object("ompi_mpi_op_sum"),
            ErrorsReturn = Object("ompi_mpi_errors_return"),
        });
    }

    /// <summary>MPICH's mpi.h: MPI_COMM_WORLD 0x44000000, MPI_BYTE 0x4c00010d, MPI_FLOAT 0x4c00040a, MPI_DOUBLE 0x4c00080b,
    /// MPI_SUM 0x58000003, MPI_ERRORS_RETURN 0x54000001.</summary>
    private static MpiLibrary Mpich(nint library) => Bind(library, new MpiLibrary
    {
        Name = "MPICH",
        World = 0x44000000,
        Byte = 0x4c00010d,
        Float = 0x4c00040a,
        Double = 0x4c00080b,
        Sum = 0x58000003,
        ErrorsReturn = 0x54000001,
    });

    private static MpiLibrary Bind(nint library, MpiLibrary mpi)
    {
        nint F(string name) => NativeLibrary.GetExport(library, name);
        mpi.InitThread = (delegate* unmanaged<int*, nint*, int, int*, int>)F("MPI_Init_thread");
        mpi.Initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized");
        mpi.Finalize = (delegate* unmanaged<int>)F("MPI_Finalize");
        mpi.CommRank = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_rank");
        mpi.CommSize = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_size");
        mpi.CommSetErrhandler = (delegate* unmanaged<nint, nint, int>)F("MPI_Comm_set_errhandler");
        mpi.Abort = (delegate* unmanaged<nint, int, int>)F("MPI_Abort");
        mpi.Barrier = (delegate* unmanaged<nint, int>)F("MPI_Barrier");
        mpi.Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)F("MPI_Bcast");
        mpi.Allgatherv = (delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int>)F("MPI_Allgatherv");
        mpi.Alltoallv = (delegate* unmanaged<void*, int*, int*, nint, void*, int*, int*, nint, nint, int>)F("MPI_Alltoallv");
        mpi.ErrorString = (delegate* unmanaged<int, byte*, int*, int>)F("MPI_Error_string");
        return mpi;
    }

    /// <summary>Throws with MPI's own words for a failed call (the world's handler is set to return errors, not abort).</summary>
    public void Check(int code, string call)
    {
        if (code == Success) return;
        var text = new byte[512]; // MPI_MAX_ERROR_STRING is 256 in both
        var length = 0;
        fixed (byte* buffer = text)
            if (ErrorString(code, buffer, &length) != Success) length = 0;
        var words = length > 0 ? System.Text.Encoding.ASCII.GetString(text, 0, length) : $"error code {code}";
        throw new MpiException($"{call} failed in {Name}: {words} (another rank may have ended)");
    }
}

/// <summary>An MPI call that failed: the job cannot go on, and the rank that sees it aborts the others.</summary>
public sealed class MpiException(string message) : Exception(message);
