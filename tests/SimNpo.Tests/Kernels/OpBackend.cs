using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Tests.Kernels.Ilgpu;

namespace SimNpo.Tests.Kernels;

/// <summary>What an op case's shape is there to exercise.</summary>
public enum CaseSize
{
    /// <summary>
    /// The spec: small enough that <see cref="GradientTests"/> differentiates every element numerically. The simulated
    /// devices skip it: what it exercises on a device (a repeat, a partial row) the shaped cases exercise too, and the
    /// simulators' time is the suite's time.
    /// </summary>
    Small,

    /// <summary>Rows that are no multiple of a warp (4, 32) or a vector width, partial groups, repeated rows: run everywhere.</summary>
    Shaped,

    /// <summary>
    /// Large enough to split into several of the fast CPU path's fixed ranges. The simulated devices skip it: they run a GPU
    /// thread by thread, and these shapes would take most of the suite's time to prove nothing the shaped cases do not.
    /// </summary>
    Ranged,
}

/// <summary>
/// One backend every op case runs on, as float32 ops that may also store their bulk tensors as bfloat16: the CPU reference,
/// the fast CPU path and ILGPU's two simulated devices (<see cref="SimulatedDevices"/>).
/// </summary>
/// <remarks>Whether it stores bfloat16 is said here rather than asked of the ops, so listing the cases opens no device.</remarks>
public sealed class OpBackend(string name, Func<IOps<float>> open, bool storesBFloat16, bool isSimulator = false)
{
    public static readonly OpBackend Reference = new("reference", () => new ReferenceOps<float>(), storesBFloat16: false);
    public static readonly OpBackend FastCpu = new("cpu", () => new FastCpuOps(), storesBFloat16: true);
    public static readonly OpBackend SimulatedDefault = Simulated(SimulatedDevices.Default);
    public static readonly OpBackend SimulatedNvidia = Simulated(SimulatedDevices.Nvidia);

    public static readonly OpBackend[] All = [Reference, FastCpu, SimulatedDefault, SimulatedNvidia];

    /// <summary>The ops, opened on first use (the simulated devices are shared by the whole run).</summary>
    public IOps<float> Ops => _ops.Value;

    private readonly Lazy<IOps<float>> _ops = new(open);

    /// <summary>Whether the backend can keep bulk tensors in bfloat16 (said, not asked of the ops: no device opens to list cases).</summary>
    public bool StoresBFloat16 => storesBFloat16;

    /// <summary>One of ILGPU's simulated devices, whose float32 bounds some cases state apart from the fast CPU path's.</summary>
    public bool IsSimulator => isSimulator;

    public bool Runs(OpCase op) => !isSimulator || op.Size == CaseSize.Shaped;

    /// <summary>Every storage the backend keeps <paramref name="op"/>'s bulk tensors in: float32, and bfloat16 where both support it.</summary>
    public IEnumerable<Storage> Storages(OpCase op) => storesBFloat16 && op.RunsInBFloat16 ? [Storage.Native, Storage.BFloat16] : [Storage.Native];

    /// <summary>The backends that run <paramref name="op"/>, each with every storage it keeps: the cases of a test over them.</summary>
    public static IEnumerable<TestCaseData> CasesFor(IEnumerable<OpCase> ops) =>
        from op in ops
        from backend in All
        where backend.Runs(op)
        from storage in backend.Storages(op)
        select new TestCaseData(op, backend, storage).SetArgDisplayNames(op.ToString(), backend.ToString(), storage.ToString());

    private static OpBackend Simulated(string device) => new("ilgpu " + device, () => SimulatedDevices.Get(device), storesBFloat16: true, isSimulator: true);

    public override string ToString() => name;
}
