using System.Runtime.InteropServices;

namespace SimNpo.Unlearn.Distributed.Nccl;

/// <summary>NCCL_UNIQUE_ID_BYTES (128) opaque bytes: made by rank 0, sent to the others, passed by value to ncclCommInitRank.</summary>
public unsafe struct NcclUniqueId
{
    public const int Bytes = 128;
    private fixed byte _internal[Bytes];
}

/// <summary>
/// The five calls of NCCL 2.x (nccl.h) that summing gradient buffers needs, bound at run time from libnccl.so.2 so that a
/// machine without it builds and runs everything else: ncclGetUniqueId, ncclCommInitRank, ncclAllReduce, ncclCommDestroy,
/// ncclGetErrorString. Each returns an ncclResult_t, 0 for success. Enum values from nccl.h: ncclFloat32 = 7,
/// ncclBfloat16 = 9, ncclSum = 0.
/// </summary>
public sealed unsafe class NcclLibrary
{
    public const string FileName = "libnccl.so.2";
    public const int Float32 = 7;
    public const int BFloat16 = 9;
    public const int Sum = 0;

    private readonly delegate* unmanaged<NcclUniqueId*, int> _getUniqueId;
    private readonly delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int> _commInitRank;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> _allReduce;
    private readonly delegate* unmanaged<IntPtr, int> _commDestroy;
    private readonly delegate* unmanaged<int, IntPtr> _getErrorString;

    private NcclLibrary(IntPtr handle)
    {
        _getUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)NativeLibrary.GetExport(handle, "ncclGetUniqueId");
        _commInitRank = (delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int>)NativeLibrary.GetExport(handle, "ncclCommInitRank");
        _allReduce = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)NativeLibrary.GetExport(handle, "ncclAllReduce");
        _commDestroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(handle, "ncclCommDestroy");
        _getErrorString = (delegate* unmanaged<int, IntPtr>)NativeLibrary.GetExport(handle, "ncclGetErrorString");
    }

    /// <summary>
    /// Loads libnccl.so.2 (the loader's search path: LD_LIBRARY_PATH, the system's) or the file named (--nccl-library,
    /// e.g. the copy pip's nvidia-nccl-cu12 puts beside PyTorch), or says why it could not.
    /// </summary>
    public static NcclLibrary? TryLoad(out string? problem, string fileName = FileName)
    {
        if (!NativeLibrary.TryLoad(fileName, out var handle))
        {
            problem = $"{fileName} was not found or could not be loaded (install NCCL, e.g. Debian's libnccl2, put it on LD_LIBRARY_PATH, "
                + "or name the file with --nccl-library)";
            return null;
        }
        try
        {
            problem = null;
            return new NcclLibrary(handle);
        }
        catch (EntryPointNotFoundException e)
        {
            problem = $"{fileName} lacks an NCCL 2 function ({e.Message})";
            return null;
        }
    }

    public NcclUniqueId GetUniqueId()
    {
        NcclUniqueId id;
        Check(_getUniqueId(&id), "ncclGetUniqueId");
        return id;
    }

    public IntPtr CommInitRank(int ranks, NcclUniqueId id, int rank)
    {
        IntPtr comm;
        Check(_commInitRank(&comm, ranks, id, rank), "ncclCommInitRank");
        return comm;
    }

    /// <summary>In place (send and receive buffers the same) sum of count elements of dataType, queued on stream.</summary>
    public void AllReduceSumInPlace(IntPtr buffer, long count, int dataType, IntPtr comm, IntPtr stream) =>
        Check(_allReduce(buffer, buffer, (nuint)count, dataType, Sum, comm, stream), "ncclAllReduce");

    public void CommDestroy(IntPtr comm) => Check(_commDestroy(comm), "ncclCommDestroy");

    private void Check(int result, string call)
    {
        // A communication failure, not a bug: reported to the user in one line (IOException).
        if (result != 0) throw new IOException($"{call} failed: {Marshal.PtrToStringAnsi(_getErrorString(result))} (ncclResult_t {result})");
    }
}
