using SimNpo.Kernels;

namespace SimNpo.Tests.Kernels.Ilgpu;

public class AdamWKernelTests
{
    private const int Length = 37;

    private static IEnumerable<TestCaseData> Cases() =>
        from device in SimulatedDevices.Names
        from step in new[] { 1, 3 }
        select new TestCaseData(device, step);

    /// <summary>
    /// Against the float64 reference on the same float32 state. The kernel updates in float32 with the step's constants
    /// folded in float64 first: about ten roundings of values within a factor 4 of the largest, so 1e-6 of each tensor's
    /// largest magnitude is a bound; a wrong bias correction or decay is off by 1e-3 or more.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void StepMatchesTheFloat64Reference(string device, int step)
    {
        var random = new Random(step);
        var parameters = OpData.Random(random, Length);
        var gradients = OpData.Random(random, Length);
        var firstMoment = OpData.Random(random, Length, 0.1);
        var secondMoment = OpData.Random(random, Length, 0.01).Select(Math.Abs).ToArray();
        var settings = new AdamWStep(1e-2, 0.9, 0.999, 1e-8, 0.1, step);

        double[][] Run<T>(IOps<T> ops) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var views = new[] { parameters, gradients, firstMoment, secondMoment }.Select(x => ops.Upload(x)).ToArray();
            ops.AdamW(views[0], views[1], views[2], views[3], settings);
            return [OpData.Download(views[0]), OpData.Download(views[2]), OpData.Download(views[3])];
        }
        var actual = Run(SimulatedDevices.Get(device));
        var expected = Run(new ReferenceOps<double>());
        string[] names = ["parameters", "first moment", "second moment"];
        for (var n = 0; n < 3; n++)
            Assert.That(actual[n], Is.EqualTo(expected[n]).Within(1e-6 * expected[n].Max(Math.Abs)), names[n]);
        Assert.That(actual[0], Is.Not.EqualTo(parameters).Within(1e-4), "the step moves every parameter by about lr");
    }
}
