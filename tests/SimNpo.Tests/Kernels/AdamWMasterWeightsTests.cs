using SimNpo.Kernels;
using SimNpo.Kernels.Cpu;
using SimNpo.Tests.Kernels.Ilgpu;

namespace SimNpo.Tests.Kernels;

/// <summary>
/// AdamW over bfloat16 parameters and gradients with float32 master weights, on the fast CPU path and both simulated
/// ILGPU devices, against torch's AdamW computed in float64 on exactly the values the kernel sees.
/// </summary>
public class AdamWMasterWeightsTests
{
    private const int Length = 37 + 2048; // more than one of the fast path's 1024-element blocks, and a ragged tail

    private static IEnumerable<TestCaseData> Backends() =>
        from backend in new[] { "cpu" }.Concat(SimulatedDevices.Names)
        from moments in new[] { Storage.Native, Storage.BFloat16 }
        select new TestCaseData(backend, moments);

    private static IOps<float> Ops(string backend) => backend == "cpu" ? new FastCpuOps() : SimulatedDevices.Get(backend);

    /// <summary>
    /// Two steps (so stored moments are read back) from float32 masters of magnitude ≤ 1, bfloat16 gradients, lr 1e-2.
    /// Master: the float32 step rounds p·decay and the subtraction (2^-24·|p| each) and forms the update from ~8 rounded
    /// quantities including the narrowed constants (≤ 2^-20 of the update, relatively); per step that is
    /// 2^-23·|p| + 2^-20·|Δ|, and the two steps' errors add. Moments in float32: ~4 roundings per step, 2^-21 relative.
    /// Moments in bfloat16: each store rounds to 2^-8 relative and the second step starts from that rounding, so
    /// 2^-7 relative (plus the float32 part) bounds them, and the update, a ratio of the two, moves by at most
    /// 2 · 2^-7 relative of |Δ| — the stated cost of halving the optimizer's memory. The bfloat16 parameters must be
    /// the master's rounding bit for bit: that is the contract, not an approximation.
    /// </summary>
    [TestCaseSource(nameof(Backends))]
    public void TheMasterFollowsFloat64AdamWAndTheParametersAreItsRounding(string backend, Storage momentStorage)
    {
        var ops = Ops(backend);
        var random = new Random(14);
        var master = OpData.Random(random, Length);
        var gradients = new[] { Rounded(OpData.Random(random, Length, 0.1)), Rounded(OpData.Random(random, Length, 0.1)) };
        var settings = new AdamWStep(1e-2, 0.9, 0.999, 1e-8, 0.1, 1);

        var masterView = Upload(ops, master, Storage.Native);
        var parameters = Upload(ops, master, Storage.BFloat16);
        var (first, second) = (Upload(ops, new double[Length], momentStorage), Upload(ops, new double[Length], momentStorage));
        var (p, m, v) = ((double[])master.Clone(), new double[Length], new double[Length]);
        for (var step = 1; step <= 2; step++)
        {
            ops.AdamW(parameters, Upload(ops, gradients[step - 1], Storage.BFloat16), first, second, settings with { Step = step }, masterView);
            AdamW.Reference.Step<double>(p, gradients[step - 1], m, v, settings with { Step = step });
        }

        var gotMaster = OpData.Download(masterView);
        var momentTolerance = momentStorage == Storage.Native ? Math.Pow(2, -21) : Math.Pow(2, -7) + Math.Pow(2, -21);
        var updateTolerance = momentStorage == Storage.Native ? Math.Pow(2, -20) : 2 * Math.Pow(2, -7) + Math.Pow(2, -20);
        for (var i = 0; i < Length; i++)
        {
            var moved = Math.Abs(p[i] - master[i]);
            Assert.That(gotMaster[i], Is.EqualTo(p[i]).Within(2 * (Math.Pow(2, -23) * Math.Abs(p[i]) + updateTolerance * moved)), $"master[{i}]");
        }
        Assert.That(OpData.Download(first), Is.EqualTo(m).Within(momentTolerance * m.Max(Math.Abs)), "first moment");
        Assert.That(OpData.Download(second), Is.EqualTo(v).Within(momentTolerance * v.Max(Math.Abs)), "second moment");
        Assert.That(OpData.Download(parameters), Is.EqualTo(gotMaster.Select(x => (double)BFloat16.Round((float)x))),
            "parameters = round(master), bit for bit");
        Assert.That(gotMaster.Zip(master, (a, b) => Math.Abs(a - b)).Min(), Is.GreaterThan(1e-4), "every master moved by about lr");
    }

    /// <summary>
    /// Why master weights exist: unlearning runs at lr 1e-5, and a bfloat16 weight of 1.0 has neighbours 2^-8 below and
    /// 2^-7 above, so an update of 1e-5 rounds away every step. A constant gradient makes AdamW's update exactly lr per
    /// step (m̂/√v̂ = 1; eps 1e-8 against √v̂ = 1e-3 changes it by 1e-5 relative). After 300 steps the bfloat16-only
    /// weight is still exactly 1; the master holds 1 − 300·1e-5 = 0.997 (float32 accumulates ≤ 300 · 2^-24 ≈ 2e-5 of
    /// rounding), and the weight beside it is round(0.997) = 1 − 2^-8, the neighbour it has crossed the midpoint towards.
    /// </summary>
    [TestCase("cpu")]
    [TestCase(SimulatedDevices.Default)]
    public void AtLearningRate1e5OnlyTheMasterKeepsTheUpdate(string backend)
    {
        const int Steps = 300, N = 8;
        var ops = Ops(backend);
        var ones = Enumerable.Repeat(1.0, N).ToArray();
        var gradient = Upload(ops, Enumerable.Repeat(1e-3, N).ToArray(), Storage.BFloat16);
        var settings = new AdamWStep(1e-5, 0.9, 0.999, 1e-8, 0, 1);

        var alone = Upload(ops, ones, Storage.BFloat16);
        var (aloneFirst, aloneSecond) = (Upload(ops, new double[N], Storage.Native), Upload(ops, new double[N], Storage.Native));
        var withMaster = Upload(ops, ones, Storage.BFloat16);
        var master = Upload(ops, ones, Storage.Native);
        var (first, second) = (Upload(ops, new double[N], Storage.Native), Upload(ops, new double[N], Storage.Native));
        for (var step = 1; step <= Steps; step++)
        {
            ops.AdamW(alone, gradient, aloneFirst, aloneSecond, settings with { Step = step });
            ops.AdamW(withMaster, gradient, first, second, settings with { Step = step }, master);
        }

        Assert.That(OpData.Download(alone), Is.All.EqualTo(1.0), "a bfloat16-only update of 1e-5 is lost every step");
        Assert.That(OpData.Download(master), Is.All.EqualTo(1 - Steps * 1e-5).Within(2e-5));
        Assert.That(OpData.Download(withMaster), Is.All.EqualTo(1 - Math.Pow(2, -8)), "the stored weight is the master's rounding");
    }

    [Test]
    public void MasterWeightsNeedNarrowParametersAndNativeStorage()
    {
        var ops = new FastCpuOps();
        var native = Upload(ops, [1.0], Storage.Native);
        var narrow = Upload(ops, [1.0], Storage.BFloat16);
        var settings = new AdamWStep(1e-3, 0.9, 0.999, 1e-8, 0, 1);
        Assert.That(() => ops.AdamW(native, native, Upload(ops, [0.0], Storage.Native), Upload(ops, [0.0], Storage.Native), settings,
            Upload(ops, [1.0], Storage.Native)),
            Throws.ArgumentException.With.Message.Contains("narrower than the compute type"));
        Assert.That(() => ops.AdamW(narrow, native, Upload(ops, [0.0], Storage.Native), Upload(ops, [0.0], Storage.Native), settings,
            Upload(ops, [1.0], Storage.BFloat16)),
            Throws.ArgumentException.With.Message.Contains("must be stored in the compute type"));
        Assert.That(() => ((IOps<float>)new ReferenceOps<float>()).AdamW(native, native, native, native, settings, native),
            Throws.ArgumentException.With.Message.Contains("takes no master weights"));
    }

    private static double[] Rounded(double[] values) => values.Select(x => (double)BFloat16.Round((float)x)).ToArray();

    private static View<float> Upload(IOps<float> ops, double[] values, Storage storage)
    {
        var view = ops.Allocate(values.Length, storage).All;
        view.CopyFrom(values.Select(x => (float)x).ToArray());
        return view;
    }
}
