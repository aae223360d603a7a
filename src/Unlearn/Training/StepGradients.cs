using System.Numerics;
using SimNpo.Kernels.Ilgpu;
using SimNpo.Model;
using SimNpo.Unlearn.Distributed;
using SimNpo.Unlearn.Distributed.Nccl;

namespace SimNpo.Unlearn.Training;

/// <summary>How an optimizer step's micro-batches run across the ranks and leave the step gradient in the model on every rank.</summary>
internal interface IStepGradients
{
    /// <summary>runOne(m) runs micro-batch m forward and backward; returns every micro-batch's result in micro-batch order.</summary>
    IReadOnlyList<MicroBatchResult> Run(int microBatches, Func<int, MicroBatchResult> runOne);
}

/// <summary>
/// Picks the gradient path of a data-parallel run (<see cref="GradientSum"/>). Auto: on a CUDA device with several ranks,
/// NCCL on the device buffers when its library loads, else one message saying so and the MPI host path
/// (<see cref="OrderedGradients{T}"/>: copy to host, all-reduce in rank order, copy back); one process on an accelerator
/// accumulates on the device (<see cref="DeviceAccumulation{T}"/>: the ordered path would copy a 7B model's gradient to the
/// host per micro-batch); everywhere else the host path, silently (a CPU backend's buffers are host memory, and the ordered
/// sum makes one process and N ranks the same bits).
/// </summary>
public static class StepGradients
{
    internal static IStepGradients For<T>(LlamaModel<T> model, ICommunicator group, Action<string> message, GradientSum mode = GradientSum.Auto,
        string ncclLibrary = NcclLibrary.FileName) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var device = model.Ops as IlgpuOps;
        if (mode == GradientSum.Nccl && (device is null || model is not LlamaModel<float>))
            throw new NotSupportedException("--gradient-sum nccl sums device buffers: it needs a device (--device cuda)");
        if (mode == GradientSum.Auto && group.Size == 1 && device is not null) return new DeviceAccumulation<T>(model);
        NcclLibrary? library = null;
        var (useNccl, note) = Decide(mode, device?.IsCuda() == true, group.Size, ncclLibrary,
            () => (library = NcclLibrary.TryLoad(out var problem, ncclLibrary)) is null ? problem : null);
        if (note is not null) message(note);
        return useNccl
            ? new NcclStepGradients((LlamaModel<float>)(object)model, new NcclGroup(library!, device!, group), group)
            : new OrderedGradients<T>(model, group);
    }

    /// <summary>
    /// Whether NCCL sums the gradients, and the message to print. Auto: none off CUDA or on one rank (nothing to reduce on
    /// the device); on CUDA, which path was taken and why. Nccl: NCCL, or an error saying why it cannot load. Host: the
    /// host path, without looking for NCCL. tryLoad returns null when the library loaded, else the problem.
    /// </summary>
    public static (bool UseNccl, string? Message) Decide(GradientSum mode, bool onCuda, int ranks, string library, Func<string?> tryLoad)
    {
        if (mode == GradientSum.Host || (mode == GradientSum.Auto && (!onCuda || ranks < 2))) return (false, null);
        if (tryLoad() is not { } problem) return (true, $"NCCL: gradients are summed on the device with {library} across {ranks} rank(s)");
        if (mode == GradientSum.Nccl) throw new NotSupportedException($"--gradient-sum nccl: {problem}");
        return (false, $"NCCL: {problem}; gradients are summed over MPI through host memory instead (copy to host, all-reduce, copy back)");
    }
}

/// <summary>
/// The NCCL path: rank r runs micro-batches r, r + N, … into the model's gradients (backward adds), then one in-place NCCL sum
/// per gradient chunk on the device; the results travel as <see cref="ParallelItems"/> items. The step gradient is the
/// same on every rank but summed in NCCL's order, so it differs from one process's in the last bits (float32 rounding
/// of a sum of at most M terms: within M·2⁻²⁴ relative of each element's magnitude sum).
/// </summary>
internal sealed class NcclStepGradients(LlamaModel<float> model, NcclGroup nccl, ICommunicator group) : IStepGradients, IDisposable
{
    private static readonly ItemCodec<MicroBatchResult> ResultCodec = new((writer, r) =>
    {
        writer.Write(r.ForgetLoss);
        writer.Write(r.RetainLoss.HasValue);
        writer.Write(r.RetainLoss ?? 0);
        writer.Write(r.ForgetNormalisedLogProb);
        writer.Write(r.Tokens);
    }, reader =>
    {
        var forget = reader.ReadDouble();
        var hasRetain = reader.ReadBoolean();
        var retain = reader.ReadDouble();
        return new MicroBatchResult(forget, hasRetain ? retain : null, reader.ReadDouble(), reader.ReadInt32());
    });

    public IReadOnlyList<MicroBatchResult> Run(int microBatches, Func<int, MicroBatchResult> runOne)
    {
        model.ZeroGradients();
        var results = ParallelItems.Map(group, microBatches, runOne, ResultCodec);
        foreach (var chunk in model.Gradients.Chunks) nccl.AllReduceSum(chunk.All);
        return results;
    }

    public void Dispose() => nccl.Dispose();
}

/// <summary>
/// One process on an accelerator: every micro-batch's backward adds into the model's gradients on the device, in
/// micro-batch order (deterministic for a given device; not the ordered host sum's bits, which would cost a download of
/// the gradient per micro-batch and two host copies of it).
/// </summary>
internal sealed class DeviceAccumulation<T>(LlamaModel<T> model) : IStepGradients where T : unmanaged, IFloatingPointIeee754<T>
{
    public IReadOnlyList<MicroBatchResult> Run(int microBatches, Func<int, MicroBatchResult> runOne)
    {
        model.ZeroGradients();
        return Enumerable.Range(0, microBatches).Select(runOne).ToArray();
    }
}
