using System.Numerics;
using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels;

public class AdamWTests
{
    // Float32-exact hyperparameters chosen so that every term is visible: a large eps, a large weight decay.
    private static readonly AdamWStep First = new(LearningRate: 0.125f, Beta1: 0.5f, Beta2: 0.75f, Epsilon: 0.25f, WeightDecay: 0.5f, Step: 1);

    [Test]
    public void TwoStepsMatchHandComputedValues()
    {
        IOps<double> ops = new ReferenceOps<double>();
        var (parameters, m, v) = (ops.Upload(1, -0.5), ops.Upload(0, 0), ops.Upload(0, 0));

        ops.AdamW(parameters, ops.Upload(0.5, 2), m, v, First);
        // p0: 1·(1 − 0.125·0.5) = 0.9375; m = 0.5·0.5 = 0.25, v = 0.25·0.25 = 0.0625; m̂ = 0.25/0.5 = 0.5, v̂ = 0.0625/0.25 = 0.25;
        //     p = 0.9375 − 0.125·0.5/(0.5 + 0.25) = 0.9375 − 1/12.
        // p1: −0.5·0.9375 = −0.46875; m = 1, v = 1; m̂ = 2, v̂ = 4; p = −0.46875 − 0.125·2/(2 + 0.25) = −0.46875 − 1/9.
        // (torch.optim.AdamW in float64 gives the same: [0.8541666666666666, −0.5798611111111112].)
        Assert.That(OpData.Download(parameters), Is.EqualTo(new[] { 0.9375 - 1.0 / 12, -0.46875 - 1.0 / 9 }).Within(1e-15));
        Assert.That(OpData.Download(m), Is.EqualTo(new[] { 0.25, 1.0 }));
        Assert.That(OpData.Download(v), Is.EqualTo(new[] { 0.0625, 1.0 }));

        ops.AdamW(parameters, ops.Upload(1, -1), m, v, First with { Step = 2 });
        // p0: m = 0.125 + 0.5 = 0.625, v = 0.046875 + 0.25 = 0.296875; m̂ = 0.625/0.75, v̂ = 0.296875/0.4375;
        //     p = (0.9375 − 1/12)·0.9375 − 0.125·m̂/(sqrt(v̂) + 0.25) = 0.7037696244604976.
        // p1: m = 0.5 − 0.5 = 0, so only the decay acts: (−0.46875 − 1/9)·0.9375 = −0.5436197916666667.
        Assert.That(OpData.Download(parameters), Is.EqualTo(new[] { 0.7037696244604976, -0.5436197916666667 }).Within(1e-15));
        Assert.That(OpData.Download(m), Is.EqualTo(new[] { 0.625, 0.0 }));
        Assert.That(OpData.Download(v), Is.EqualTo(new[] { 0.296875, 1.0 }));
    }

    [Test]
    public void Float32AgreesWithFloat64OverTwoSteps()
    {
        var random = new Random(16);
        var (start, gradient1, gradient2) = (OpData.Random(random, 64), OpData.Random(random, 64), OpData.Random(random, 64));
        var single = TwoSteps<float>(start, gradient1, gradient2);
        var exact = TwoSteps<double>(start, gradient1, gradient2);
        // Each step runs in float64 and rounds p, m and v once (u = 2⁻²⁴ relative); the second step's update of size ≤ lr
        // inherits the moments' rounding, well within 4u of parameters below 1.
        Assert.That(single, Is.EqualTo(exact).Within(4.0 / (1 << 24)));
    }

    private static double[] TwoSteps<T>(double[] start, double[] gradient1, double[] gradient2) where T : unmanaged, IFloatingPointIeee754<T>
    {
        IOps<T> ops = new ReferenceOps<T>();
        var (parameters, m, v) = (ops.Upload(start), ops.Allocate(start.Length).All, ops.Allocate(start.Length).All);
        ops.AdamW(parameters, ops.Upload(gradient1), m, v, First with { Epsilon = 1e-8f, WeightDecay = 0.01f });
        ops.AdamW(parameters, ops.Upload(gradient2), m, v, First with { Epsilon = 1e-8f, WeightDecay = 0.01f, Step = 2 });
        return OpData.Download(parameters);
    }

    [Test]
    public void StepsCountFromOne()
    {
        IOps<double> ops = new ReferenceOps<double>();
        var one = ops.Upload(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => ops.AdamW(one, one, ops.Upload(0), ops.Upload(0), First with { Step = 0 }));
    }

    public static IEnumerable<TestCaseData> Backends() =>
        from backend in OpBackend.All
        from step in new[] { 1, 3 }
        select new TestCaseData(backend, step).SetArgDisplayNames(backend.ToString(), $"step {step}");

    /// <summary>
    /// Against the float64 reference on the same float32 state, on every backend (moved here from FastCpuOpsTests and
    /// Ilgpu/AdamWKernelTests). The fast path and the kernels update in float32 with the step's constants folded in float64
    /// first: about ten roundings of values within a factor 4 of the largest, so 1e-6 of each tensor's largest magnitude is
    /// a bound; a wrong bias correction or decay is off by 1e-3 or more. 40003 parameters on the CPU (three of the fast
    /// path's ranges and a partial vector), 37 on the simulated devices (no multiple of a warp).
    /// </summary>
    [TestCaseSource(nameof(Backends))]
    public void StepMatchesTheFloat64Reference(OpBackend backend, int step)
    {
        var length = backend.IsSimulator ? 37 : 40_003;
        var random = new Random(step);
        var parameters = OpData.Random(random, length);
        var gradients = OpData.Random(random, length);
        var firstMoment = OpData.Random(random, length, 0.1);
        var secondMoment = OpData.Random(random, length, 0.01).Select(Math.Abs).ToArray();
        var settings = new AdamWStep(1e-2, 0.9, 0.999, 1e-8, 0.1, step);
        double[][] Run<T>(IOps<T> ops) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var views = new[] { parameters, gradients, firstMoment, secondMoment }.Select(x => ops.Upload(x)).ToArray();
            ops.AdamW(views[0], views[1], views[2], views[3], settings);
            return [OpData.Download(views[0]), OpData.Download(views[2]), OpData.Download(views[3])];
        }
        var (actual, expected) = (Run(backend.Ops), Run(new ReferenceOps<double>()));
        string[] names = ["parameters", "first moment", "second moment"];
        for (var n = 0; n < 3; n++) Assert.That(actual[n], Is.EqualTo(expected[n]).Within(1e-6 * expected[n].Max(Math.Abs)), names[n]);
        Assert.That(actual[0], Is.Not.EqualTo(parameters).Within(1e-4), "the step moves every parameter by about lr");
    }
}
