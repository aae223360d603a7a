using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace SimNpo.Kernels.Ilgpu;

/// <summary>
/// What a library outside ILGPU (NCCL) needs to work on SimNpo's device buffers: the address of a view's first element in
/// device memory, and the CUDA stream the kernels run on, so that its work is ordered with theirs.
/// </summary>
public static class DeviceAddresses
{
    /// <summary>Whether the ops run on a CUDA device (the only kind NCCL serves).</summary>
    public static bool IsCuda(this IlgpuOps ops) => ops.Accelerator.AcceleratorType == AcceleratorType.Cuda;

    /// <summary>The device address of a float view's first element, and whether it holds bfloat16 words rather than float32.</summary>
    public static (IntPtr Address, bool BFloat16) DeviceAddress(this View<float> view) => view.Buffer switch
    {
        IlgpuBuffer<float> => (Address(view.ArrayView()), false),
        IlgpuBFloat16Buffer => (Address(view.Words()), true),
        _ => throw new InvalidOperationException($"a view of a {view.Buffer.GetType().Name} is not in accelerator memory"),
    };

    /// <summary>The raw cudaStream_t of the accelerator's default stream, where every SimNpo kernel is launched.</summary>
    public static IntPtr CudaStream(this IlgpuOps ops) =>
        ops.Accelerator.DefaultStream is CudaStream stream ? stream.StreamPtr : throw new InvalidOperationException($"{ops.Name} has no CUDA stream");

    private static IntPtr Address<T>(ArrayView<T> view) where T : unmanaged =>
        view.Length == 0 ? IntPtr.Zero : (IntPtr)((long)((IArrayView)view).Buffer.NativePtr + ((IContiguousArrayView)view).IndexInBytes);
}
