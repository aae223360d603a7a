using System.Runtime.InteropServices;
using SimNpo.Kernels;
using SimNpo.Kernels.Ilgpu;

namespace SimNpo.Unlearn.Distributed.Nccl;

/// <summary>
/// An NCCL communicator over the same ranks as an MPI group, one CUDA device each: rank 0 makes the unique id, the group
/// broadcasts it (over MPI), every rank joins with ncclCommInitRank. Sums run in place on device buffers, on the stream the
/// kernels use, so no host copy is made. NCCL's sum order is its own (ring or tree, fixed for a given topology and N):
/// the result does not depend on the run, but differs in the last bits from the MPI path's rank-order sum.
/// </summary>
public sealed class NcclGroup : IDisposable
{
    private readonly NcclLibrary _library;
    private readonly IlgpuOps _ops;
    private readonly IntPtr _comm;
    private readonly IntPtr _stream;

    public NcclGroup(NcclLibrary library, IlgpuOps ops, ICommunicator group)
    {
        _library = library;
        _ops = ops;
        // NCCL works on the calling thread's current CUDA device (the runtime API's view): make it this rank's accelerator.
        ops.Accelerator.Bind();
        var id = group.IsRoot ? library.GetUniqueId() : default;
        group.Broadcast(MemoryMarshal.AsBytes(new Span<NcclUniqueId>(ref id)), root: 0);
        _comm = library.CommInitRank(group.Size, id, group.Rank);
        // On ILGPU's CPU simulator (tests, with a host-memory stand-in for the library) there is no CUDA stream: 0, the default.
        _stream = ops.IsCuda() ? ops.CudaStream() : IntPtr.Zero;
    }

    /// <summary>Sums a device view across the ranks, in place; returns once the sum is complete (the stream is synchronised).</summary>
    public void AllReduceSum(View<float> values)
    {
        _ops.Accelerator.Bind();
        var (address, bf16) = values.DeviceAddress();
        _library.AllReduceSumInPlace(address, values.Length, bf16 ? NcclLibrary.BFloat16 : NcclLibrary.Float32, _comm, _stream);
        _ops.Accelerator.Synchronize();
    }

    public void Dispose() => _library.CommDestroy(_comm);
}
